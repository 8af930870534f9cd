"""Reading a YAML file into plain data plus a map of YAML path → line number.

PyYAML's composed node tree carries positions; walking it gives the map that lets
every later error name its line (``inverters[2].array_id`` → 41). Duplicate mapping
keys, which PyYAML silently collapses, are reported here.
"""

from __future__ import annotations

from typing import Any

import yaml

from catalog.yamlconfig.problems import Problems


class _Loader(yaml.SafeLoader):
    """Safe loading only: no Python objects can be built from a config file."""


def item_path(parent: str, key: object) -> str:
    """Join a path and a mapping key or list index the way messages spell them."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def load_yaml(text: str, problems: Problems) -> Any:
    """Parse ``text``; fill ``problems.lines``; report syntax errors and duplicate keys.

    Returns the data (``None`` for an empty document or after a syntax error).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _walk(loader, node, "", problems)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = f"YAML syntax error: {exc.problem or exc.context}"
        if mark is None:
            problems.add("", what)
        else:
            problems.add_at_line(what, mark.line + 1, mark.column + 1)
        return None
    except yaml.YAMLError as exc:
        problems.add("", f"YAML error: {exc}")
        return None
    finally:
        loader.dispose()


def _walk(loader: _Loader, node: yaml.Node, path: str, problems: Problems) -> None:
    problems.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(loader, child, item_path(path, index), problems)
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
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
            _walk(loader, value_node, child_path, problems)
