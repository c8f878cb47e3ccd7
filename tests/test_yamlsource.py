"""The located YAML loader: text scalars, positions, duplicate keys, syntax errors."""

from __future__ import annotations

from calendar_service.yamlsource import parse_yaml


def test_yaml_11_traps_stay_text() -> None:
    parsed = parse_yaml("time: 10:40\ncountries: [NO, US]\nhs: [0101, 85]\non: yes\n", "f.yaml")
    assert parsed.problems == []
    # YAML 1.1 would give 640 (sexagesimal), False (Norway), 65 (octal) and True.
    assert parsed.data == {"time": "10:40", "countries": ["NO", "US"], "hs": ["0101", "85"], "on": "yes"}


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
