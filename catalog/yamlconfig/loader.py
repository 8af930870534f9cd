"""Reading a YAML file into plain data plus a map of YAML path → line number.

PyYAML's composed node tree carries positions; walking it gives the map that lets
every later error name its line (``inverters[2].array_id`` → 41). Duplicate mapping
keys, which PyYAML silently collapses, are reported here.

A config file may come from anywhere, so reading it is bounded (``SOLARMON_YAML_*``): its
size, how deep it nests, how many nodes it has once aliases are expanded (an alias of an
alias of a list grows exponentially), and how long one string may be. Each limit stops the
import before anything is built, naming the limit and the line.

The original system's own example file is not valid YAML in two places, both inside parts
solarmon does not import (``smart:`` and an inverter's ``solar:``). Such a block, when the
parse fails inside it, is skipped unread and reported as not imported (:func:`_skip_broken_block`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings

from catalog.yamlconfig.problems import Problems

# Blocks of the original's files that solarmon never imports, by key path (``*`` = any list
# index): when the YAML inside one of them is broken, the block is skipped instead of failing.
SKIPPABLE_BLOCKS: dict[tuple[str, ...], str] = {
    ("smart",): "solarmon does not control inverters (solar forecast, tariff windows, scheduler policy)",
    ("logging",): "solarmon's log level is SOLARMON_LOG_LEVEL",
    ("billing",): "solarmon has no billing",
    ("inverters", "*", "solar"): "solarmon keeps no PV array geometry",
    ("inverters", "*", "safety"): "solarmon does not control inverters (safety limits)",
    ("arrays", "*", "scheduler"): "solarmon does not control inverters (scheduler)",
}
MAX_SKIPPED_BLOCKS = 20


class LimitExceeded(Exception):
    """A bound on reading the file was hit; the message names the limit."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Limits:
    """How much a config file may hold (``SOLARMON_YAML_*`` settings)."""

    max_bytes: int
    max_depth: int
    max_nodes: int
    max_string: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(settings.SOLARMON_YAML_MAX_BYTES, settings.SOLARMON_YAML_MAX_DEPTH,
                   settings.SOLARMON_YAML_MAX_NODES, settings.SOLARMON_YAML_MAX_STRING_CHARS)


class _Loader(yaml.SafeLoader):
    """Safe loading only (no Python objects from a config file), nesting bounded while composing.

    PyYAML composes recursively, so a file nested 50,000 deep would end in a RecursionError;
    counting the depth here stops it at the limit instead.
    """

    def __init__(self, text: str, max_depth: int) -> None:
        super().__init__(text)
        self._depth = 0
        self._max_depth = max_depth

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self._max_depth:
                mark = self.peek_event().start_mark
                raise LimitExceeded(f"nested deeper than SOLARMON_YAML_MAX_DEPTH ({self._max_depth} "
                                    "levels)", mark.line + 1)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def item_path(parent: str, key: object) -> str:
    """Join a path and a mapping key or list index the way messages spell them."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def check_size(size: int, problems: Problems, limits: Limits) -> bool:
    """Report a file larger than ``SOLARMON_YAML_MAX_BYTES``; True when it may be read."""
    if size > limits.max_bytes:
        problems.add("", f"the file is {size:,} bytes, more than SOLARMON_YAML_MAX_BYTES "
                     f"({limits.max_bytes:,} bytes)")
        return False
    return True


def load_yaml(text: str, problems: Problems, limits: Limits | None = None) -> Any:
    """Parse ``text``; fill ``problems.lines``; report syntax errors, duplicate keys and limits hit.

    Returns the data (``None`` for an empty document or after an error).
    """
    limits = limits or Limits.from_settings()
    if not check_size(len(text.encode("utf-8")), problems, limits):
        return None
    for _ in range(MAX_SKIPPED_BLOCKS):
        try:
            return _load(text, problems, limits)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = f"YAML syntax error: {exc.problem or exc.context}"
            repaired = _skip_broken_block(text, mark.line, what, problems) if mark is not None else None
            if repaired is not None:
                text = repaired
                continue
            if mark is None:
                problems.add("", what)
            else:
                problems.add_at_line(what, mark.line + 1, mark.column + 1)
            return None
        except yaml.YAMLError as exc:
            problems.add("", f"YAML error: {exc}")
            return None
        except LimitExceeded as exc:
            if exc.line is None:
                problems.add("", str(exc))
            else:
                problems.add_at_line(str(exc), exc.line)
            return None
    problems.add("", f"more than {MAX_SKIPPED_BLOCKS} blocks are not valid YAML")
    return None


def _load(text: str, problems: Problems, limits: Limits) -> Any:
    loader = _Loader(text, limits.max_depth)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, limits)
        _walk(loader, node, "", problems)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, limits: Limits) -> None:
    """Stop when the document, with every alias expanded, has more than ``max_nodes`` nodes.

    Aliases make the node tree a graph; sizes are computed once per node (an iterative walk,
    so the count itself cannot blow up or recurse), and long strings are caught on the way.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > limits.max_string:
                raise LimitExceeded(f"a value of {len(node.value):,} characters, more than "
                                    f"SOLARMON_YAML_MAX_STRING_CHARS ({limits.max_string:,})",
                                    node.start_mark.line + 1)
            size[id(node)] = 1
            continue
        children = _children(node)
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        total = 1 + sum(size.get(id(child), 0) for child in children)
        if total > limits.max_nodes:
            raise LimitExceeded(f"more than SOLARMON_YAML_MAX_NODES ({limits.max_nodes:,}) values once "
                                "aliases are expanded", node.start_mark.line + 1)
        size[id(node)] = total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _walk(loader: _Loader, node: yaml.Node, path: str, problems: Problems) -> None:
    """Record each path's line (iteratively: depth is bounded, but stay off the call stack)."""
    stack: list[tuple[yaml.Node, str]] = [(node, path)]
    while stack:
        current, at = stack.pop()
        problems.lines.setdefault(at, current.start_mark.line + 1)
        if isinstance(current, yaml.SequenceNode):
            stack.extend((child, item_path(at, index)) for index, child in enumerate(current.value))
        elif isinstance(current, yaml.MappingNode):
            stack.extend(_mapping_children(loader, current, at, problems))


def _mapping_children(loader: _Loader, node: yaml.MappingNode, path: str, problems: Problems
                      ) -> list[tuple[yaml.Node, str]]:
    seen: set[Any] = set()
    children = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if key is None or isinstance(key, list | dict):
            continue
        child_path = item_path(path, str(key))
        if key in seen:
            problems.lines[child_path] = key_node.start_mark.line + 1
            problems.add(child_path, "duplicate key")
            continue
        seen.add(key)
        problems.lines[child_path] = key_node.start_mark.line + 1
        children.append((value_node, child_path))
    return children


# ---- broken blocks the import would skip anyway -------------------------------------------------
def _skip_broken_block(text: str, error_line: int, what: str, problems: Problems) -> str | None:
    """``text`` with the skippable block around ``error_line`` (0-based) blanked, or ``None``.

    The block is found by indentation (the parse itself failed): its lines become empty and its
    key gets a null value, so every other line keeps its number. The block is reported as not
    imported, with the syntax error that was inside it.
    """
    lines = text.split("\n")
    chain = _enclosing_keys(lines, error_line)
    for depth in range(1, len(chain) + 1):
        names = tuple("*" if isinstance(part, int) else part for part, _ in chain[:depth])
        if names in SKIPPABLE_BLOCKS:
            key_line = chain[depth - 1][1]
            path = ""
            for part, _ in chain[:depth]:
                path = item_path(path, part)
            problems.lines.setdefault(path, key_line + 1)
            problems.warn(path, f"{SKIPPABLE_BLOCKS[names]}; the block is not valid YAML either "
                          f"({what} at line {error_line + 1}), so it was skipped unread")
            return "\n".join(_blank_block(lines, key_line))
    return None


def _indent(line: str) -> int | None:
    """Leading spaces of a line with content (``None`` for blank and comment-only lines)."""
    stripped = line.lstrip(" ")
    if not stripped or stripped.startswith("#"):
        return None
    return len(line) - len(stripped)


def _enclosing_keys(lines: list[str], line_no: int) -> list[tuple[str | int, int]]:
    """The keys and list indexes that enclose ``line_no``, outermost first, each with its line."""
    found: list[tuple[int, int]] = []  # (line, indent), innermost first
    threshold = _indent(lines[line_no]) if line_no < len(lines) else None
    threshold = threshold if threshold is not None else 0
    after_item = False
    for number in range(min(line_no, len(lines)) - 1, -1, -1):
        indent = _indent(lines[number])
        if indent is None:
            continue
        is_item = lines[number].lstrip(" ").startswith("-")
        # A sequence may sit at its key's own indentation (``key:`` then ``- item`` below it).
        if indent < threshold or (after_item and indent == threshold and not is_item):
            found.append((number, indent))
            threshold, after_item = indent, is_item
    chain: list[tuple[str | int, int]] = []
    for number, indent in reversed(found):
        stripped = lines[number].lstrip(" ")
        if stripped.startswith("-"):
            # A list item; its own first key (``- id: x``) is a sibling of what it encloses.
            chain.append((_item_index(lines, number, indent), number))
            continue
        key = stripped.split(":", 1)[0].strip().strip("'\"")
        chain.append((key, number))
    return chain


def _item_index(lines: list[str], line_no: int, indent: int) -> int:
    """How many list items at ``indent`` precede the one on ``line_no`` in the same list."""
    index = 0
    for number in range(line_no - 1, -1, -1):
        other = _indent(lines[number])
        if other is None or other > indent:
            continue
        if other < indent or not lines[number].lstrip(" ").startswith("-"):
            break
        index += 1
    return index


def _blank_block(lines: list[str], key_line: int) -> list[str]:
    """Give the key on ``key_line`` a null value and empty the lines of its block."""
    indent = _indent(lines[key_line]) or 0
    key_text = lines[key_line].split(":", 1)[0]
    out = list(lines)
    out[key_line] = f"{key_text}: null"
    for number in range(key_line + 1, len(lines)):
        other = _indent(lines[number])
        if other is not None and other <= indent:
            break
        out[number] = ""
    return out
