"""YAML read into a small tree that remembers where every key and value stood.

msgspec.yaml decodes straight to Python objects and forgets positions, but a
catalog error has to say `file:line:col`. So the catalog is composed with
PyYAML's safe loader into nodes, and each node here keeps its 1-based mark.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

__all__ = ["Mark", "YMap", "YNode", "YScalar", "YSeq", "YamlError", "read_yaml"]


class Mark(NamedTuple):  # a tuple: there is one per YAML node, so it must be cheap
    line: int
    column: int


class YamlError(Exception):
    """The text is not YAML the catalog can use; carries a mark."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


@dataclass
class YNode:
    mark: Mark

    def plain(self) -> Any:
        """The node as plain Python data (dict, list, str, int, ...)."""
        raise NotImplementedError

    def kind(self) -> str:
        raise NotImplementedError


@dataclass
class YScalar(YNode):
    value: Any
    raw: str  # the text as written: lets `version: 1.10` stay "1.10"
    plain_style: bool  # unquoted, so `raw` is what the author typed

    def plain(self) -> Any:
        return self.value

    def kind(self) -> str:
        return "null" if self.value is None else type(self.value).__name__


@dataclass
class YSeq(YNode):
    items: list[YNode] = field(default_factory=list)

    def plain(self) -> Any:
        return [item.plain() for item in self.items]

    def kind(self) -> str:
        return "list"


@dataclass
class YMap(YNode):
    # key -> (mark of the key, value node); insertion order is file order
    entries: dict[str, tuple[Mark, YNode]] = field(default_factory=dict)

    def plain(self) -> Any:
        return {key: value.plain() for key, (_, value) in self.entries.items()}

    def kind(self) -> str:
        return "mapping"


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _TooLarge(YamlError):
    """A document past the loader's bounds: reported as it is, never parsed a second time."""


def read_yaml(text: str) -> YNode | None:
    """Parse one YAML document; `None` for an empty one. Raises `YamlError`."""
    if _FAST_LOADER is not None:
        try:
            return _read(text, _FAST_LOADER)
        except _TooLarge:
            raise
        except YamlError:
            pass  # PyYAML's own parser words its errors better: let it report
    return _read(text, yaml.SafeLoader)


def _read(text: str, loader_class: type[yaml.SafeLoader]) -> YNode | None:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, e.g. a C0 control
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        raise YamlError(f"invalid YAML: character U+{error.character:04X} is not allowed", Mark(line, column)) from None
    # A catalog composes into many small objects and no cycles: the collector,
    # run as they come, took two fifths of the time (1,000 slugs).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if len(text) > 2 * _MAX_NODES:
            _count_events(text, loader_class)
        try:
            root = loader.get_single_node()
        except RecursionError:  # PyYAML composes recursively
            raise _TooLarge(f"YAML nests deeper than {_MAX_DEPTH} levels", Mark(1, 1)) from None
        return None if root is None else _convert(loader, root, depth=0, budget=[_MAX_NODES], merged={})
    except yaml.MarkedYAMLError as error:
        raise _invalid(error) from None
    except yaml.YAMLError as error:  # e.g. a second document in the stream
        raise YamlError(f"invalid YAML: {error}", Mark(1, 1)) from None
    finally:
        loader.dispose()
        if collecting:
            gc.enable()


def _invalid(error: yaml.MarkedYAMLError) -> YamlError:
    """PyYAML's error, at its place, in a catalog author's words."""
    mark = error.problem_mark or error.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    message = " ".join(part for part in (error.context, error.problem) if part)
    if (error.context or "").startswith("while parsing a flow") and (error.problem or "").endswith("got '['"):
        # `members: {ids: list[int]}`: in `{ }` or `[ ]` a bracket starts a list, and the
        # file cannot be read past it: the one finding says how to write it instead.
        message += " (inside { } or [ ], quote a value that holds brackets or commas, such as a member type: "
        message += "'list[int]')"
    return YamlError(f"invalid YAML: {message}", where)


# libyaml's parser when PyYAML has it: several times faster, with the same marks.
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)

_STR = "tag:yaml.org,2002:str"

# Aliases can nest a node inside itself or expand exponentially ("billion
# laughs"); no real catalog comes near these bounds.
_MAX_DEPTH = 64
_MAX_NODES = 200_000


def _convert(
    loader: yaml.SafeLoader, node: yaml.Node, depth: int, budget: list[int], merged: dict[int, list[Any]]
) -> YNode:
    budget[0] -= 1
    if depth > _MAX_DEPTH:
        raise _TooLarge(f"YAML nests deeper than {_MAX_DEPTH} levels (an alias that refers to itself?)", _mark(node))
    if budget[0] < 0:
        raise _TooLarge(
            f"YAML has more than {_MAX_NODES:,} nodes, aliases expanded: no catalog is that large", _mark(node)
        )
    if isinstance(node, yaml.ScalarNode):
        return _scalar(loader, node)
    if isinstance(node, yaml.SequenceNode):
        return YSeq(_mark(node), [_convert(loader, item, depth + 1, budget, merged) for item in node.value])
    assert isinstance(node, yaml.MappingNode)
    result = YMap(_mark(node))
    for key_node, value_node in _pairs(node, depth, merged):
        if not isinstance(key_node, yaml.ScalarNode):
            raise YamlError("mapping keys must be plain strings", _mark(key_node))
        key = str(key_node.value)
        if key in result.entries:
            first = result.entries[key][0]
            raise YamlError(f"duplicate key {key!r} (first at line {first.line})", _mark(key_node))
        result.entries[key] = (_mark(key_node), _convert(loader, value_node, depth + 1, budget, merged))
    return result


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> YScalar:
    if node.tag == _STR:  # most scalars: the text is the value
        return YScalar(_mark(node), node.value, node.value, not node.style)
    try:
        value = loader.construct_object(node, deep=True)
    except ValueError:  # e.g. `2024-13-45` looks like a timestamp but is no date
        value = node.value
    return YScalar(_mark(node), value, node.value, not node.style)  # libyaml says "", PyYAML None


_MERGE = "tag:yaml.org,2002:merge"


def _count_events(text: str, loader_class: type[yaml.SafeLoader]) -> None:
    """Refuse a document of more nodes than the budget before composing it (5 MB took PyYAML 28 s to compose).

    Only long texts can get there without aliases (a node takes two characters
    at least), and parser events cost a sixth of composed nodes. The nodes are
    counted as `_convert` counts them: mapping keys are not nodes of their own.
    """
    counter = loader_class(text)
    try:
        nodes = 0
        awaiting: list[bool | None] = []  # per open collection: a mapping awaiting a key (True) or a value
        while counter.check_event():
            event = counter.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                awaiting.pop()
                continue
            if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                continue  # stream and document boundaries
            if awaiting and awaiting[-1] is True:
                awaiting[-1] = False  # a key: its value comes next
            else:
                if awaiting and awaiting[-1] is False:
                    awaiting[-1] = True
                nodes += 1
                if nodes > _MAX_NODES:
                    start = event.start_mark
                    mark = Mark(start.line + 1, start.column + 1) if start is not None else Mark(1, 1)
                    raise _TooLarge(f"YAML has more than {_MAX_NODES:,} nodes: no catalog is that large", mark)
            if isinstance(event, yaml.MappingStartEvent):
                awaiting.append(True)
            elif isinstance(event, yaml.SequenceStartEvent):
                awaiting.append(None)
    finally:
        counter.dispose()


def _pairs(node: yaml.MappingNode, depth: int, merged: dict[int, list[Any]]) -> list[Any]:
    """A mapping's (key, value) nodes with `<<: *anchor` merge keys expanded.

    As the YAML merge key type says: the mapping's own keys win over merged
    ones, and an earlier merged mapping over a later one. Each merged mapping
    is expanded once per document (`merged`) and keeps one pair per key, so a
    chain of merges cannot grow past the document's own keys (PyYAML's own
    `flatten_mapping` keeps every duplicate: a 732-byte file of merges took
    16 s and 1.6 GB with PyYAML 6.0.2).
    """
    if id(node) in merged:
        return merged[id(node)]
    if depth > _MAX_DEPTH:
        raise _TooLarge(f"YAML nests deeper than {_MAX_DEPTH} levels (a merge that refers to itself?)", _mark(node))
    own = [(key, value) for key, value in node.value if key.tag != _MERGE]
    pairs: list[Any] = []
    for key, value in node.value:
        if key.tag == _MERGE:
            pairs += _merged(value, depth, merged)
    seen = {key.value for key, _ in own if isinstance(key, yaml.ScalarNode)}
    result = []
    for key, value in pairs:
        if key.value not in seen:
            seen.add(key.value)
            result.append((key, value))
    merged[id(node)] = result = result + own
    return result


def _merged(value: yaml.Node, depth: int, merged: dict[int, list[Any]]) -> list[Any]:
    """The pairs a merge key `<<` brings in: of one mapping, or of each of a list of them, in order."""
    pairs: list[Any] = []
    for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
        if not isinstance(source, yaml.MappingNode):
            raise YamlError("a merge key `<<` takes a mapping or a list of mappings", _mark(source))
        pairs += _pairs(source, depth + 1, merged)
    return pairs
