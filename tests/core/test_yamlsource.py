"""The located YAML loader: text scalars, positions, duplicate keys, syntax errors."""

from __future__ import annotations

import pytest
from check_jsonschema.parsers.yaml import construct_yaml_implementation

from calendar_service.core.yamlsource import ALIAS_BUDGET, MAX_DEPTH, parse_yaml


def test_yaml_11_traps_stay_text() -> None:
    parsed = parse_yaml("time: 10:40\ncountries: [NO, US]\nhs: [0101, 85]\non: yes\n", "f.yaml")
    assert parsed.problems == []
    # YAML 1.1 would give 640 (sexagesimal), False (Norway), 65 (octal) and True.
    assert parsed.data == {"time": "10:40", "countries": ["NO", "US"], "hs": ["0101", "85"], "on": "yes"}


PLAIN_VALUES = (
    "0201", "85", "85411000", "-3", "+7", "1_000", "0o17", "0x1F", "0b101", "1.5", "1e3", "2.", ".5", ".inf",
    "-.inf", ".nan", "true", "False", "TRUE",  # typed by YAML 1.2
    "10:40", "NO", "yes", "on", "2025-06-10", "9903.01.25", "P90D", "-P7D", "8541.10", "e3", "tRue", "1-2",
    "0x", "Tariffs", "EO 14257", "v2", "1.2.3", "+", ".",  # text to YAML 1.2 too
)  # fmt: skip


@pytest.mark.parametrize("value", PLAIN_VALUES)
def test_typed_lists_what_check_jsonschema_reads_as_a_number_or_boolean(value: str) -> None:
    text = f"hs: [{value}, '{value}']\n"
    tool = construct_yaml_implementation().load(text)["hs"][0]  # how check-jsonschema reads the file
    parsed = parse_yaml(text, "f.yaml")
    assert parsed.data == {"hs": [value, value]}  # our reader keeps the text either way
    assert parsed.typed == ([(("hs", 0), value)] if not isinstance(tool, str) else [])  # quoted: never


def test_null_stays_none_and_quoted_null_is_text() -> None:
    parsed = parse_yaml("a: ~\nb:\nc: null\nd: 'null'\n", "f.yaml")
    assert parsed.data == {"a": None, "b": None, "c": None, "d": "null"}


def test_locations_of_values_and_keys() -> None:
    parsed = parse_yaml("events:\n  - id: a\n    title:   Hello\n", "f.yaml")
    assert parsed.locations.of(("events", 0, "title")) == (3, 14)
    assert parsed.locations.of(("events", 0, "title"), key=True) == (3, 5)
    assert parsed.locations.of(("events", 0, "missing")) == (2, 5)  # nearest enclosing value


def test_duplicate_key_is_reported_and_the_first_kept() -> None:
    parsed = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert parsed.data == {"a": "1", "b": "2"}
    (problem,) = parsed.problems
    assert problem.format() == (
        "f.yaml:3:1: error: duplicate key 'a' (first at line 1) — "
        "YAML keeps only one; delete or merge the two"
    )


def test_syntax_error_says_where_the_list_began() -> None:
    parsed = parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert parsed.data is None
    (problem,) = parsed.problems
    assert (problem.line, problem.column) == (2, 2)
    assert "began at line 1, column 4" in problem.message
    assert "close the list with ]" in problem.message


def test_unquoted_star_gets_a_hint_to_quote_it() -> None:
    (problem,) = parse_yaml("countries: [*]\n", "f.yaml").problems
    assert "quote it, e.g. countries: ['*']" in problem.message


def test_tab_indentation_hint() -> None:
    (problem,) = parse_yaml("a:\n\tb: 1\n", "f.yaml").problems
    assert "indent with spaces, not tabs" in problem.message


def test_merge_keys_and_anchors_are_refused() -> None:
    parsed = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert any("no merge keys" in p.message for p in parsed.problems)


def test_python_tags_are_refused() -> None:
    (problem,) = parse_yaml("a: !!python/object:os.system x\n", "f.yaml").problems
    assert "unsupported YAML tag '!!python/object:os.system'" in problem.message


def test_empty_document_is_none() -> None:
    assert parse_yaml("", "f.yaml").data is None


def alias_bomb(levels: int) -> str:
    """`levels` anchors, each a list of nine aliases of the one before: 9**levels values."""
    names = "abcdefghij"
    lines = [f"a: &a [{', '.join(['lol'] * 9)}]"]
    lines += [f"{names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [8, 9])
def test_alias_bomb_is_refused_at_the_alias_that_overruns_the_budget(levels: int) -> None:
    text = alias_bomb(levels)
    assert len(text) < 450  # the campaign's files were 340 and 432 bytes
    parsed = parse_yaml(text, "f.yaml")  # before the budget: MemoryError after minutes
    assert parsed.data is None
    (problem,) = parsed.problems
    assert problem.format().startswith("f.yaml:5:8: error: alias *d repeats 7,381 values")
    assert f"past {ALIAS_BUDGET:,}" in problem.message


def test_a_few_aliases_are_still_allowed() -> None:
    parsed = parse_yaml("s: &s {title: EO}\nevents: [{sources: [*s]}, {sources: [*s]}]\n", "f.yaml")
    assert parsed.problems == []
    assert parsed.data["events"][1] == {"sources": [{"title": "EO"}]}


@pytest.mark.parametrize(
    ("text", "where"), [("a: &a [x, *a]\n", (1, 11)), ("a: &a {k: [x, {j: *a}]}\n", (1, 19))]
)
def test_alias_inside_its_own_anchor_is_refused(text: str, where: tuple[int, int]) -> None:
    (problem,) = parse_yaml(text, "f.yaml").problems
    assert (problem.line, problem.column) == where
    assert "alias *a is inside the value it repeats" in problem.message


@pytest.mark.parametrize("depth", [500, 999])
def test_deep_nesting_is_a_located_error_not_a_recursion_error(depth: int) -> None:
    flow = parse_yaml("a: " + "[" * depth + "]" * depth + "\n", "f.yaml")
    block = parse_yaml("a:\n" + "".join("  " * i + "- \n" for i in range(1, depth)), "f.yaml")
    (problem,) = flow.problems
    assert (problem.line, problem.column) == (1, 3 + MAX_DEPTH)  # the first `[` too deep
    assert f"nested more than {MAX_DEPTH} levels deep" in problem.message
    (problem,) = block.problems
    assert problem.line == MAX_DEPTH + 1
    assert f"nested more than {MAX_DEPTH} levels deep" in problem.message


UNCLOSED = """\
calendar:
  name: x
events:
  - id: a
    title: {quote}never closed
    kind: talks
  - id: b
    time: "10:00"
    title: {quote}fine{quote}
"""


@pytest.mark.parametrize("quote", ['"', "'"])
def test_unclosed_quote_is_reported_where_it_opens(quote: str) -> None:
    (problem,) = parse_yaml(UNCLOSED.format(quote=quote), "f.yaml").problems
    assert (problem.line, problem.column) == (5, 12)  # not line 8 or 9, where the parser stopped
    assert "quote opened here is not closed on its line" in problem.message


def test_unclosed_quote_at_the_end_of_the_file_is_reported_where_it_opens() -> None:
    (problem,) = parse_yaml('a: x\nb: "open\nc: d\n', "f.yaml").problems
    assert (problem.line, problem.column) == (2, 4)


def test_a_multi_line_quoted_value_that_is_fine_is_not_blamed() -> None:
    (problem,) = parse_yaml('a: "one\n  two"\nb: [1, 2\nc: 3\n', "f.yaml").problems
    assert "close the list with ]" in problem.message
