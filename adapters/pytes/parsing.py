"""Console text → body lines → tables and key/value pairs.

A reply looks like ``<echo>`` ``@`` ``<body>`` ``Command completed successfully`` ``$$``
``<prompt>``, with ``\\r\\n`` (Pylontech), ``\\r\\r\\n`` (Pytes) or mixed line ends and,
for long output, a ``Press [Enter] to be continued`` pager line.

Tables are read by header, never by position in the row: each header name has a start
column, and each value belongs to the header it sits under. A console prints fixed-width
columns, so a blank value leaves a gap instead of shifting its neighbours; splitting on
whitespace alone would slide every later value one header to the left. Each value must
also look like what its header holds (a status word, a number, a percentage); one that
does not is reported as bad for that column only, and the rest of the row is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adapters.errors import DeviceError, TransportError
from adapters.pytes.columns import EMPTY, kind_of, value_fits

PAGER = "Press [Enter] to be continued,other key to exit"
COMPLETED = "Command completed successfully"
END = "$$"
INVALID = "Invalid command"
FAILED = "Command completed unccessfully"  # sic: the console's own spelling of a failure

_DATE, _TIME = re.compile(r"^\d{4}-\d{2}-\d{2}$"), re.compile(r"^\d{2}:\d{2}:\d{2}$")
_UNIT = re.compile(r"^(mAH|mAh|mV|mA|mC|AH|Ah|mWH|WH)$")
_NUMBER = re.compile(r"^-?\d+$")
_PROMPT_ECHO = re.compile(r"^\s*[A-Za-z]+>(.*)$")


def normalize(text: str) -> list[str]:
    """Split console output into lines, whatever the line ends, without pager prompts."""
    text = text.replace(PAGER, "\n")
    text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\n\r", "\n").replace("\r", "\n")
    return [line.expandtabs().rstrip() for line in text.split("\n")]


def extract_body(text: str, command: str) -> list[str]:
    """The body lines of the reply to ``command`` (blank lines removed, indentation kept).

    Raises :class:`DeviceError` on an ``Invalid command`` or failed reply and
    :class:`TransportError` when the reply has no recognisable framing.
    """
    lines = normalize(text)
    stripped = [line.strip() for line in lines]
    if any(line.startswith(INVALID) for line in stripped):
        raise DeviceError(f"console rejected {command!r}: Invalid command")
    if FAILED in stripped:
        raise DeviceError(f"console answered {command!r} with {FAILED!r}")
    start = _body_start(stripped, command)
    body: list[str] = []
    for line, bare in zip(lines[start:], stripped[start:], strict=True):
        if bare in (COMPLETED, END):
            break
        if bare:
            body.append(line)
    return body


def _body_start(lines: list[str], command: str) -> int:
    """Where the body begins: after ``@``, else after the echo of the command or of a prompt."""
    if "@" in lines:
        return lines.index("@") + 1
    echoes = [i for i, line in enumerate(lines) if line.endswith(command)]
    if not echoes:  # some consoles echo a shorter form ("info" for "info 1")
        echoes = [i for i, line in enumerate(lines) if (m := _PROMPT_ECHO.match(line)) and m.group(1).strip()]
    if not echoes:
        raise TransportError(f"reply to {command!r} has no framing (no '@' and no echo)")
    return echoes[0] + 1


@dataclass(frozen=True)
class _Token:
    text: str
    start: int


@dataclass
class TableRow:
    """One row of a console table.

    ``values`` holds each column whose text fits its header; ``bad`` names each column whose
    text does not (or that is blank), with the reason. ``index`` is the key column's number,
    or None when even that cannot be read (the row cannot be attributed to anything).
    """

    line: str
    index: int | None
    values: dict[str, str] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)

    def get(self, column: str, default: str | None = None) -> str | None:
        return self.values.get(column, default)


def split_header(line: str) -> list[_Token]:
    """Header names with their start columns; ``Base State``, ``Volt. State``… are one name each."""
    names: list[_Token] = []
    for match in re.finditer(r"\S+", line):
        if match.group() == "State" and names:
            names[-1] = _Token(names[-1].text + " State", names[-1].start)
        else:
            names.append(_Token(match.group(), match.start()))
    return names


def split_row(line: str) -> list[str]:
    """Row values; a date and its time, and a number and its unit (``44231 mAH``), stay together."""
    return [t.text for t in _row_tokens(line)]


def _row_tokens(line: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in re.finditer(r"\S+", line):
        text = match.group()
        if tokens and ((_TIME.match(text) and _DATE.match(tokens[-1].text))
                       or (_UNIT.match(text) and _NUMBER.match(tokens[-1].text))):
            tokens[-1] = _Token(tokens[-1].text + " " + text, tokens[-1].start)
        else:
            tokens.append(_Token(text, match.start()))
    return tokens


def parse_table(body: list[str], key_column: str) -> list[TableRow]:
    """Rows of the table whose header starts with ``key_column``.

    Every line after the header is a row. Raises :class:`TransportError` when no line of
    ``body`` is such a header.
    """
    header_at = next((i for i, line in enumerate(body) if line.split()[:1] == [key_column]), None)
    if header_at is None:
        raise TransportError(f"no table with a {key_column!r} column in the reply")
    columns = split_header(body[header_at])
    return [_row(columns, line) for line in body[header_at + 1:]]


def _row(columns: list[_Token], line: str) -> TableRow:
    tokens = _row_tokens(line)
    index_text = tokens[0].text if tokens else ""
    row = TableRow(line=line.strip(), index=int(index_text) if index_text.isdigit() else None)
    if row.index is None:
        return row
    if len(tokens) == len(columns) and all(value_fits(kind_of(c.text), t.text)
                                           for c, t in zip(columns, tokens, strict=True)):
        row.values = {c.text: t.text for c, t in zip(columns, tokens, strict=True)}
        return row
    for column, text in zip(columns, _by_position(columns, tokens), strict=True):
        if text is None:
            row.bad[column.text] = "blank"
        elif value_fits(kind_of(column.text), text):
            row.values[column.text] = text
        else:
            row.bad[column.text] = f"reads {text!r}"
    return row


def _by_position(columns: list[_Token], tokens: list[_Token]) -> list[str | None]:
    """Each column's text: the tokens nearest its header's start (in order), or None."""
    shift = tokens[0].start - columns[0].start  # a row indented unlike its header
    slots: list[list[str]] = [[] for _ in columns]
    at = 0
    for token in tokens:
        nearest = min(range(len(columns)), key=lambda i: (abs(token.start - shift - columns[i].start), i))
        at = max(at, nearest)  # values appear in header order
        slots[at].append(token.text)
    return [" ".join(texts) if texts else None for texts in slots]


def parse_key_values(body: list[str]) -> dict[str, str]:
    """``Key   : value`` lines → {"Key": "value"} (inner runs of spaces collapsed)."""
    pairs: dict[str, str] = {}
    for line in body:
        key, sep, value = line.partition(":")
        if sep:
            pairs[" ".join(key.split())] = value.strip()
    return pairs


def is_empty(text: str | None) -> bool:
    """True for a missing value and for the console's ``-``."""
    return text is None or text == EMPTY
