"""Read YAML into plain data while remembering where every key and value stood.

PyYAML's loaders lose line numbers and silently keep the last of two equal keys, so this module composes
the node tree (with the C parser when it is there) and builds the values itself. Every scalar stays the
text the curator wrote, except plain `null`/`~`/empty: YAML 1.1 would turn `10:40` into the integer 640
and the country `NO` into False, and the models parse dates and times from text anyway. Other tools read
the same file by YAML 1.2 (editors checking the JSON Schema, check-jsonschema), which types a plain `0101`
as the number 101: `ParsedYaml.typed` lists the plain scalars they would not read as text, so the
validator can ask for quotes where the schema would refuse the value.

Whatever the text, building the values costs bounded time and memory: an alias repeats its anchor's
whole value, so nine levels of nine aliases in 400 bytes would build 387 million values ("billion
laughs"). The builder counts what aliases produce and refuses the file past `ALIAS_BUDGET` values, or
at an alias inside its own anchor (a loop); then one linear pass over the parser's events finds the
alias to blame, for a `file:line:col` message. Nesting deeper than `MAX_DEPTH` is refused too (libyaml
stops at 1,000 levels, but building 500 of them would exhaust Python's stack).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from calendar_service.core.problems import Problem

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]
# Values aliases may add to a file. Curators rarely need aliases at all; 10,000 values is a page of
# events repeated many times over and costs milliseconds.
ALIAS_BUDGET = 10_000
# The event format nests six levels (events → event → history → change → was → tz); 64 is generous.
MAX_DEPTH = 64
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# The YAML 1.2 core bool, int and float forms as ruamel.yaml resolves them (what check-jsonschema and the
# YAML editors' schema checks read): a plain scalar matching one is not text to those tools.
_TYPED_BY_YAML_12 = re.compile(
    r"true|True|TRUE|false|False|FALSE"
    r"|[-+]?(?:0b[0-1_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)"
    r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


class _TextLoader(_Loader):
    """Resolve plain scalars to text or null only: the implicit int/bool/date regexes are wasted work.

    PyYAML runs them in Python for every scalar (most of a bare `yaml.load`); we keep the text anyway.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value in _NULLS:
                return _NULL_TAG
            if implicit[0] and value == "<<":
                return "tag:yaml.org,2002:merge"  # refused with a clear message by the builder
            return "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:seq" if kind is yaml.SequenceNode else "tag:yaml.org,2002:map"


_NULL_TAG = "tag:yaml.org,2002:null"
_KNOWN_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


@dataclass
class Locations:
    """Line and column (1-based) of each value, and of each mapping key, by path."""

    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """Where `path` is, or its nearest enclosing value that exists in the file."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)


@dataclass
class ParsedYaml:
    """The document as plain data, where things are, and problems found while reading."""

    data: Any
    locations: Locations
    problems: list[Problem]
    # (path, text) of each plain (unquoted) value that YAML 1.2 tools read as a number or boolean.
    typed: list[tuple[PathKey, str]] = field(default_factory=list)


def parse_yaml(text: str, path: str) -> ParsedYaml:
    """Parse `text`, reporting syntax errors, duplicate keys and unsupported tags as problems."""
    locations = Locations()
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_TextLoader)
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, text, path))
        return ParsedYaml(None, locations, problems)
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, 1, "error", f"YAML syntax: {exc}"))
        return ParsedYaml(None, locations, problems)
    if root is None:
        return ParsedYaml(None, locations, problems)
    builder = _Builder(path, locations, problems)
    try:
        data = builder.build(root, ())
    except _AliasOverrun:
        return ParsedYaml(None, Locations(), [_alias_problem(text, path)])
    return ParsedYaml(data, locations, problems, builder.typed)


class _AliasOverrun(Exception):
    """Aliases made more values than `ALIAS_BUDGET`, or one sits inside its own anchor."""


def _alias_problem(text: str, path: str) -> Problem:
    """Find the alias that loops or overruns the budget, in one pass over the events without building."""
    sizes: dict[str, int] = {}  # values each anchor stands for, its own aliases expanded
    open_nodes: list[list[Any]] = []  # [anchor, values so far] of each collection being read
    produced = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor or "", 1)
            mark = event.start_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            if any(node[0] == event.anchor for node in open_nodes):
                return Problem(
                    path,
                    line,
                    col,
                    "error",
                    f"alias *{event.anchor} is inside the value it repeats, so it never ends — "
                    "remove the alias and write the value out",
                )
            produced += size
            if produced > ALIAS_BUDGET:
                return Problem(
                    path,
                    line,
                    col,
                    "error",
                    f"alias *{event.anchor} repeats {size:,} values, taking what aliases repeat in "
                    f"this file past {ALIAS_BUDGET:,} (aliases inside anchors multiply) — write the "
                    "values out instead of using aliases",
                )
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_nodes:
            open_nodes[-1][1] += size
    return Problem(  # pragma: no cover - the events always show the alias the builder stopped at
        path, 1, 1, "error", f"aliases repeat more than {ALIAS_BUDGET:,} values — write the values out"
    )


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, path: str) -> Problem:
    """Say what the parser stumbled on, where the construct began, and the likely fix."""
    opened = _unclosed_quote(exc, text)
    if opened is not None:
        line, col = opened
        ran = "" if exc.problem_mark is None else f" to line {exc.problem_mark.line + 1}"
        return Problem(
            path,
            line,
            col,
            "error",
            f"YAML syntax: the quote opened here is not closed on its line, so the value runs on{ran} "
            f"({exc.problem or exc}) — close it; inside single quotes write '' for a quote, "
            'inside double quotes \\"',
        )
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = exc.problem or str(exc)
    context = ""
    if exc.context and "next token" not in exc.context:
        start = exc.context_mark
        began = f" that began at line {start.line + 1}, column {start.column + 1}" if start else ""
        context = f" ({exc.context}{began})"
    found = text[mark.index] if mark is not None and mark.index < len(text) else ""
    return Problem(path, line, col, "error", f"YAML syntax: {what}{context} — {_syntax_hint(exc, found)}")


def _unclosed_quote(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int] | None:
    """Where a quote that runs on past its line opened, when that is what broke the file.

    An unclosed quote swallows the following lines up to the next quote character, so the parser
    stumbles there, often many lines below. A data file keeps each quoted value on one line, so a
    quoted value that spans lines and ends where the parser stumbled is the culprit.
    """
    if exc.context and "quoted scalar" in exc.context and exc.context_mark is not None:
        return (exc.context_mark.line + 1, exc.context_mark.column + 1)  # ran to the end of the file
    stumbled = exc.problem_mark
    if stumbled is None:
        return None
    culprit = None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            start, end = token.start_mark, token.end_mark
            if start.index >= stumbled.index:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"') and start.line != end.line:
                culprit = (start.line + 1, start.column + 1) if end.line == stumbled.line else None
    except yaml.YAMLError:
        pass  # the scanner stopped at the error too; what was read before it is enough
    return culprit


def _syntax_hint(exc: yaml.MarkedYAMLError, found: str) -> str:
    context, problem = exc.context or "", exc.problem or ""
    if found == "\t" or "\\t" in problem:
        return "indent with spaces, not tabs"
    if "alias" in context:
        return "a value starting with * is read as an alias; quote it, e.g. countries: ['*']"
    if "anchor" in context:
        return "a value starting with & is read as an anchor; quote it"
    if "flow sequence" in context:
        return "close the list with ] (and separate items with commas), or quote an item containing , [ or ]"
    if "flow mapping" in context:
        return "close the mapping with } (and separate entries with commas)"
    if "quoted scalar" in context:
        return "close the quotes; inside single quotes write '' for a quote, inside double quotes \\\""
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, e.g. title: \"Note: ...\""
    if "block" in context:
        return "line up the keys of one mapping (or the `- ` items of one list) at the same indentation"
    return "check indentation and quoting"


class _Builder:
    def __init__(self, path: str, locations: Locations, problems: list[Problem]) -> None:
        self.path = path
        self.values = locations.values
        self.keys = locations.keys
        self.problems = problems
        self.typed: list[tuple[PathKey, str]] = []
        # Composing shares one node between an anchor and its aliases, so a collection met a second
        # time is an alias being expanded; `_open` holds the collections being built (a loop).
        self._seen: set[int] = set()
        self._open: set[int] = set()
        self._aliasing = 0  # how many aliases deep the current value is
        self._from_aliases = 0  # values built while expanding aliases

    def build(self, node: yaml.Node, at: PathKey) -> Any:
        mark = node.start_mark
        self.values[at] = (mark.line + 1, mark.column + 1)
        if self._aliasing:
            self._from_aliases += 1
            if self._from_aliases > ALIAS_BUDGET:
                raise _AliasOverrun
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _NULL_TAG:
                return None
            if node.tag not in _KNOWN_SCALAR_TAGS:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                self._error(node, f"unsupported YAML tag {tag!r} — remove it; values are plain text")
            elif not node.style and _TYPED_BY_YAML_12.fullmatch(node.value):  # style "" or None: plain
                self.typed.append((at, node.value))
            return node.value
        if len(at) >= MAX_DEPTH:
            self._error(node, f"nested more than {MAX_DEPTH} levels deep — an event file needs at most 6")
            return None
        key = id(node)
        if key in self._open:
            raise _AliasOverrun
        alias = key in self._seen
        self._seen.add(key)
        self._open.add(key)
        self._aliasing += alias
        try:
            return self._collection(node, at)
        finally:
            self._aliasing -= alias
            self._open.discard(key)

    def _collection(self, node: yaml.Node, at: PathKey) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, index)) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, at)
        self._error(node, "unsupported YAML node")  # pragma: no cover - compose yields only the three kinds
        return None

    def _mapping(self, node: yaml.MappingNode, at: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                self._error(key_node, "keys must be plain names (no merge keys, lists or mappings as keys)")
                continue
            key = key_node.value
            key_at = (*at, key)
            here = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first = self.keys[key_at]
                self._error(
                    key_node,
                    f"duplicate key {key!r} (first at line {first[0]}) — YAML keeps only one; "
                    "delete or merge the two",
                )
                continue
            self.keys[key_at] = here
            result[key] = self.build(value_node, key_at)
        return result

    def _error(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, "error", message))
