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
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError

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
    """Line and column (1-based) of each value, and of each mapping key, by path.

    Kept packed (`line << 32 | column`, one int instead of a tuple of two): a large file has some
    forty places per event, and they live as long as its validation.
    """

    values: dict[PathKey, int] = field(default_factory=dict)
    keys: dict[PathKey, int] = field(default_factory=dict)

    def of(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """Where `path` is, or its nearest enclosing value that exists in the file."""
        if key and path in self.keys:
            return _unpack(self.keys[path])
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return _unpack(found)
        return (1, 1)


def _pack(mark: Any) -> int:
    return int((mark.line + 1) << 32 | (mark.column + 1))


def _unpack(packed: int) -> tuple[int, int]:
    return packed >> 32, packed & 0xFFFFFFFF


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
    loader = _TextLoader(text)
    builder = _Builder(path, locations, problems, loader)
    try:
        data = builder.document()
    except _AliasOverrun:
        return ParsedYaml(None, Locations(), [_alias_problem(text, path)])
    except yaml.MarkedYAMLError as exc:
        return ParsedYaml(None, Locations(), [_syntax_problem(exc, text, path)])
    except yaml.YAMLError as exc:
        return ParsedYaml(None, Locations(), [Problem(path, 1, 1, "error", f"YAML syntax: {exc}")])
    finally:
        loader.dispose()
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
    """Build the values straight from the parser's events, one at a time.

    Composing the whole node tree first (`yaml.compose`) held about 17 KB per event of a large file
    at once, more than everything else a reload keeps (issue 21); here only the values and their
    places are built. An anchored value's events are kept, and an alias replays them, so an alias
    is built (and counted against the budget) where it is used, as composing would share it.
    """

    def __init__(self, path: str, locations: Locations, problems: list[Problem], loader: _Loader) -> None:
        self.path = path
        self.values = locations.values
        self.keys = locations.keys
        self.problems = problems
        self.typed: list[tuple[PathKey, str]] = []
        self._loader = loader
        self._anchors: dict[str, list[Any]] = {}  # events of each anchored value, by anchor
        self._recording: list[tuple[str, list[Any]]] = []  # anchored collections being read
        self._replay: list[Any] = []  # iterators over anchored events, innermost last
        self._aliasing = 0  # how many aliases deep the current value is
        self._from_aliases = 0  # values built while expanding aliases

    def document(self) -> Any:
        """The single document's value (None for an empty stream)."""
        loader = self._loader
        loader.get_event()  # StreamStartEvent
        if loader.check_event(yaml.StreamEndEvent):
            return None
        start: Any = loader.get_event()  # DocumentStartEvent
        data = self.build(self._take(), ())
        loader.get_event()  # DocumentEndEvent
        if not loader.check_event(yaml.StreamEndEvent):
            extra: Any = loader.get_event()
            raise ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                extra.start_mark,
            )
        return data

    def _take(self) -> Any:
        if self._replay:
            return next(self._replay[-1])
        event: Any = self._loader.get_event()
        for _, recorded in self._recording:
            recorded.append(event)
        return event

    def build(self, event: Any, at: PathKey, *, alias: bool = False) -> Any:
        self.values[at] = _pack(event.start_mark)
        if self._aliasing:
            self._from_aliases += 1
            if self._from_aliases > ALIAS_BUDGET:
                raise _AliasOverrun
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, at)
        if isinstance(event, yaml.ScalarEvent):
            self._define(event, [event])
            return self._scalar(event, at)
        if len(at) >= MAX_DEPTH:
            self._error(event, f"nested more than {MAX_DEPTH} levels deep — an event file needs at most 6")
            self._skip(event)
            return None
        recorded = self._open(event)
        self._aliasing += alias  # what an alias repeats counts against the budget
        try:
            value: Any = (
                self._sequence(at) if isinstance(event, yaml.SequenceStartEvent) else self._mapping(at)
            )
        finally:
            self._aliasing -= alias
        self._close(recorded)
        return value

    def _scalar(self, event: Any, at: PathKey) -> str | None:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _resolve_scalar(event.value, event.implicit)
        if tag == _NULL_TAG:
            return None
        if tag not in _KNOWN_SCALAR_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            self._error(event, f"unsupported YAML tag {shown!r} — remove it; values are plain text")
        elif not event.style and _TYPED_BY_YAML_12.fullmatch(event.value):  # style "" or None: plain
            self.typed.append((at, event.value))
        return str(event.value)

    def _define(self, event: Any, recorded: list[Any]) -> None:
        anchor = event.anchor
        if anchor is None or self._replay:
            return  # a replayed value defines nothing again
        first = self._anchors.get(anchor) or next((r for a, r in self._recording if a == anchor), None)
        if first is not None and first[0] is not event:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                first[0].start_mark,
                "second occurrence",
                event.start_mark,
            )
        self._anchors[anchor] = recorded

    def _open(self, event: Any) -> tuple[str, list[Any]] | None:
        """Start keeping an anchored collection's events (its own start event first)."""
        if event.anchor is None or self._replay:
            return None
        recorded: list[Any] = [event]
        self._define(event, recorded)
        del self._anchors[event.anchor]  # defined once its end is read: an alias before that is a loop
        entry = (event.anchor, recorded)
        self._recording.append(entry)
        return entry

    def _close(self, entry: tuple[str, list[Any]] | None) -> None:
        if entry is not None:
            self._recording.remove(entry)
            self._anchors[entry[0]] = entry[1]

    def _alias(self, event: Any, at: PathKey) -> Any:
        name = event.anchor
        recorded = self._anchors.get(name)
        if recorded is None:
            if any(anchor == name for anchor, _ in self._recording):
                raise _AliasOverrun  # inside the value it repeats: it would never end
            raise ComposerError(None, None, f"found undefined alias {name!r}", event.start_mark)
        self._replay.append(iter(recorded))
        try:
            # Placed where composing places it, at the anchored value (its marks).
            return self.build(self._take(), at, alias=True)
        finally:
            self._replay.pop()

    def _skip(self, event: Any) -> None:
        """Read past a value that is not built (anchors in it are still defined); no recursion, as
        what is skipped may be nested deeper than the stack allows."""
        opened: list[tuple[str, list[Any]] | None] = []
        while True:
            if isinstance(event, yaml.ScalarEvent):
                self._define(event, [event])
            elif isinstance(event, yaml.CollectionStartEvent):
                opened.append(self._open(event))
            elif isinstance(event, yaml.CollectionEndEvent):
                self._close(opened.pop())
            if not opened:
                return
            event = self._take()

    def _sequence(self, at: PathKey) -> list[Any]:
        items: list[Any] = []
        while True:
            event = self._take()
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            items.append(self.build(event, (*at, len(items))))

    def _mapping(self, at: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            key_event = self._take()
            if isinstance(key_event, yaml.MappingEndEvent):
                return result
            if isinstance(key_event, yaml.AliasEvent):  # an alias of a scalar is that scalar as a key
                anchored = self._anchors.get(key_event.anchor or "")
                if anchored is not None and isinstance(anchored[0], yaml.ScalarEvent):
                    key_event = anchored[0]
            if not isinstance(key_event, yaml.ScalarEvent) or (
                key_event.tag in (None, "!")
                and _resolve_scalar(key_event.value, key_event.implicit) == _MERGE_TAG
            ):
                self._error(key_event, "keys must be plain names (no merge keys, lists or mappings as keys)")
                self._skip(key_event)
                self._skip(self._take())
                continue
            self._define(key_event, [key_event])
            # Interned: every event repeats the same dozen keys, in its mapping and in its places.
            key = sys.intern(key_event.value)
            key_at = (*at, key)
            if key in result:
                first = _unpack(self.keys[key_at])
                self._error(
                    key_event,
                    f"duplicate key {key!r} (first at line {first[0]}) — YAML keeps only one; "
                    "delete or merge the two",
                )
                self._skip(self._take())
                continue
            self.keys[key_at] = _pack(key_event.start_mark)
            result[key] = self.build(self._take(), key_at)

    def _error(self, event: Any, message: str) -> None:
        mark = event.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, "error", message))


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _resolve_scalar(value: str, implicit: tuple[bool, bool]) -> str:
    """The tag composing gives an untagged scalar: `_TextLoader.resolve`, without a node."""
    if implicit[0] and value in _NULLS:
        return _NULL_TAG
    if implicit[0] and value == "<<":
        return _MERGE_TAG
    return "tag:yaml.org,2002:str"
