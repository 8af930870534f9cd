"""Console text → body lines → tables and key/value pairs.

A reply looks like ``<echo>`` ``@`` ``<body>`` ``Command completed successfully`` ``$$``
``<prompt>``, with ``\\r\\n`` (Pylontech) or ``\\r\\r\\n`` (Pytes) line ends and, for long
output, a ``Press [Enter] to be continued`` pager line.
"""

from __future__ import annotations

import re

from adapters.errors import DeviceError, TransportError

PAGER = "Press [Enter] to be continued,other key to exit"
COMPLETED = "Command completed successfully"
END = "$$"
INVALID = "Invalid command"

_DATE_TIME = (re.compile(r"^\d{4}-\d{2}-\d{2}$"), re.compile(r"^\d{2}:\d{2}:\d{2}$"))
_UNIT = re.compile(r"^(mAH|mAh|mV|mA|mC|AH|Ah)$")


def normalize(text: str) -> list[str]:
    """Split console output into lines, whatever the line ends, without pager prompts."""
    text = text.replace(PAGER, "\n")
    text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def extract_body(text: str, command: str) -> list[str]:
    """The body lines of the reply to ``command`` (blank lines removed).

    Raises :class:`DeviceError` on an ``Invalid command`` reply and :class:`TransportError`
    when the reply has no recognisable framing.
    """
    lines = [line.strip() for line in normalize(text)]
    if any(line.startswith(INVALID) for line in lines):
        raise DeviceError(f"console rejected {command!r}: Invalid command")
    if "@" in lines:
        start = lines.index("@") + 1
    else:
        echoes = [i for i, line in enumerate(lines) if line.endswith(command)]
        if not echoes:
            raise TransportError(f"reply to {command!r} has no framing (no '@' and no echo)")
        start = echoes[0] + 1
    body: list[str] = []
    for line in lines[start:]:
        if line in (COMPLETED, END):
            break
        if line:
            body.append(line)
    return body


def split_header(line: str) -> list[str]:
    """Header names; ``Base State``, ``Volt. State``… are one name each."""
    names: list[str] = []
    for token in line.split():
        if token == "State" and names:
            names[-1] += " State"
        else:
            names.append(token)
    return names


def split_row(line: str) -> list[str]:
    """Row values; a date and its time, and a number and its unit (``44231 mAH``), stay together."""
    values: list[str] = []
    for token in line.split():
        if values and _DATE_TIME[1].match(token) and _DATE_TIME[0].match(values[-1]):
            values[-1] += " " + token
        elif values and _UNIT.match(token) and re.match(r"^-?\d+$", values[-1]):
            values[-1] += " " + token
        else:
            values.append(token)
    return values


def _align(headers: list[str], values: list[str]) -> list[str] | None:
    if len(values) == len(headers):
        return values
    # Pytes prints "34%  34682 mAH" under one Coulomb header.
    for i in range(len(values) - 1):
        if len(values) == len(headers) + 1 and values[i].endswith("%") and " " in values[i + 1]:
            return [*values[:i], values[i] + " " + values[i + 1], *values[i + 2:]]
    return None


def parse_table(body: list[str], key_column: str) -> list[dict[str, str]]:
    """Rows of the table whose header starts with ``key_column``, as header → text.

    A row that does not line up with the header gets the ``"_raw"`` key only, so the
    caller can decide whether it matters (it does not for ``Absent`` units).
    """
    header_at = next((i for i, line in enumerate(body) if line.split()[:1] == [key_column]), None)
    if header_at is None:
        raise TransportError(f"no table with a {key_column!r} column in the reply")
    headers = split_header(body[header_at])
    rows: list[dict[str, str]] = []
    for line in body[header_at + 1:]:
        values = split_row(line)
        if not values or not values[0].isdigit():
            continue
        aligned = _align(headers, values)
        rows.append(dict(zip(headers, aligned, strict=True)) if aligned else {"_raw": line,
                                                                            key_column: values[0]})
    return rows


def parse_key_values(body: list[str]) -> dict[str, str]:
    """``Key   : value`` lines → {"Key": "value"} (inner runs of spaces collapsed)."""
    pairs: dict[str, str] = {}
    for line in body:
        key, sep, value = line.partition(":")
        if sep:
            pairs[" ".join(key.split())] = value.strip()
    return pairs
