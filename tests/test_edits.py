"""Model answers become minimal edits of exactly the requested lines, or are refused."""

from __future__ import annotations

import pytest

from switchboard.gateway import InvalidAnswer
from switchboard.tasks.answers import json_values
from switchboard.tasks.blocks import fence_for, fenced_blocks
from switchboard.tasks.replacement import Region, fit_code, read_replacement
from switchboard.tasks.review import parse_review
from switchboard.tasks.source import Position, Source
from switchboard.tasks.syntax import syntax_check


def checked_replacement(source, start, end, code):
    """What a fix reads from an answer that is just `code`, with the syntax check."""
    return read_replacement(Region(source, start, end), code, syntax_check(source))


def fit_replacement(source, start, end, code):
    return fit_code(Region(source, start, end), code)


def test_fenced_blocks_are_found_with_their_introduction():
    answer = "Here you go:\n```python\nx = 1\n```\nand also\n```\ny = 2\n```"
    blocks = fenced_blocks(answer)
    assert [(b.language, b.body, b.lead) for b in blocks] == [
        ("python", "x = 1", "Here you go:"),
        ("", "y = 2", "and also"),
    ]
    assert fenced_blocks("~~~\na\n~~~").blocks[0].body == "a"
    assert fenced_blocks("````py\nuse ``` inside\n````").blocks[0].body == "use ``` inside"
    # Never closed: the provider said the answer was complete, so it ends there.
    assert fenced_blocks("```python\nx = 1\n").blocks[0].body == "x = 1"


@pytest.mark.parametrize("answer", ["", "   ", "x" * 300_000])
def test_answers_with_no_code_are_refused(answer):
    with pytest.raises(InvalidAnswer):
        checked_replacement(Source("y = 1\n", "m.py"), 0, 0, answer)


def test_fence_outgrows_backticks_in_the_code():
    assert fence_for("plain") == "```"
    assert fence_for("a ```` b") == "`````"


def test_json_values_tolerate_fences_and_chatter():
    assert json_values('Sure!\n```json\n{"findings": []}\n```') == [{"findings": []}]
    assert json_values('noise {"a": [1, 2]} trailing [3]') == [{"a": [1, 2]}, [3]]
    with pytest.raises(InvalidAnswer):
        json_values("no json here")


def test_deep_or_huge_json_is_invalid_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidAnswer):
        json_values(deep)
    with pytest.raises(InvalidAnswer):
        json_values("```json\n" + '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n```")
    with pytest.raises(InvalidAnswer):  # a brace-filled answer stays cheap to scan
        json_values("{" * 150_000)


def test_edit_is_minimal_and_inside_the_range():
    source = Source("def f():\n    return 1 +  2\n\nprint(f())\n", "m.py")
    replacement = checked_replacement(source, 1, 1, "    return 1 + 2")
    edit = replacement.edit()
    # "    return 1 + " is common, and so is "2\n": only the doubled space goes.
    assert edit.start == Position(1, 15)
    assert edit.end == Position(1, 16)
    assert edit.new_text == ""
    assert replacement.new_text() == "def f():\n    return 1 + 2\n\nprint(f())\n"


def test_lost_indentation_is_restored_and_line_endings_kept():
    source = Source("class A:\r\n    def f(self):\r\n        return  1\r\n", "a.py")
    replacement = fit_replacement(source, 1, 2, "def f(self):\n    return 1")
    assert replacement.new_lines == "    def f(self):\r\n        return 1\r\n"


def test_last_line_without_newline_stays_without():
    source = Source("a = 1\nb = 2", "x.py")
    assert fit_replacement(source, 1, 1, "b = 3").new_text() == "a = 1\nb = 3"


def test_an_answer_that_changes_nothing_is_invalid():
    source = Source("x = 1\n", "x.py")
    with pytest.raises(InvalidAnswer, match="changes nothing"):
        checked_replacement(source, 0, 0, "x = 1")


def test_python_that_no_longer_parses_is_invalid_but_only_for_errors_the_edit_adds():
    good = Source("def f():\n    return 1\n", "x.py")
    with pytest.raises(InvalidAnswer, match="no longer parse"):
        checked_replacement(good, 1, 1, "    return (1")
    # Broken elsewhere already: tree-sitter judges the edited lines alone.
    broken = Source("def f(:\n    return 1\n\nx = 1\n", "x.py")
    assert checked_replacement(broken, 3, 3, "x = 2").new_text().endswith("x = 2\n")
    with pytest.raises(InvalidAnswer, match="adds python syntax errors"):
        checked_replacement(broken, 3, 3, "x = (2")


@pytest.mark.parametrize(
    ("name", "text", "line", "good", "bad"),
    [
        ("a.js", "function f() {\n  return 1;\n}\n", 1, "  return 2;", "  return (2;"),
        ("a.ts", "const x: number = 1;\n", 0, "const x: number = 2;", "const x: = 2;"),
        ("a.go", "package main\n\nfunc f() int {\n\treturn 1\n}\n", 3, "\treturn 2", "\treturn (2"),
        ("a.rs", "fn f() -> i32 {\n    1\n}\n", 1, "    2", "    2 +"),
        ("a.json", '{"a": 1,\n "b": 2}\n', 1, ' "b": 3}', ' "b": }'),
        ("a.yaml", "a: 1\nb: [2]\n", 1, "b: [3]", "b: [3"),
    ],
)
def test_every_language_keeps_its_syntax(name, text, line, good, bad):
    source = Source(text, name)
    checked_replacement(source, line, line, good)
    with pytest.raises(InvalidAnswer, match="syntax errors"):
        checked_replacement(source, line, line, bad)


def test_non_python_files_are_not_parsed():
    source = Source("let x = 1;\n", "x.js")
    assert checked_replacement(source, 0, 0, "const x = 1;").new_lines == "const x = 1;\n"


def test_edit_positions_count_code_points_in_non_ascii_lines():
    source = Source("s = '😀é'  # x\nt = 1\n", "u.py")
    edit = checked_replacement(source, 0, 0, "s = '😀é'  # y").edit()
    assert edit.start == Position(0, 12)
    assert edit.new_text == "y"


def test_review_findings_are_read_tolerantly_and_bad_ones_dropped():
    source = Source("a = 1\nb = a / 0\nc = 3\n", "r.py")
    answer = """```json
{"findings": [
  {"line": "2", "severity": "CRITICAL", "message": "division by zero",
   "suggestion": "b = a / 1"},
  {"line": 99, "message": "past the end"},
  {"line": 1, "end_line": 0, "severity": "nit", "message": "name a", "suggestion": 5},
  {"line": true, "message": "bool line"},
  {"message": "no line"},
  "not an object"
]}
```"""
    review = parse_review(answer, source)
    assert [(f.line, f.end_line, f.severity) for f in review.findings] == [
        (0, 0, "hint"),
        (1, 1, "error"),
    ]
    fix = review.findings[1].fix
    assert fix is not None and fix.new_text() == "a = 1\nb = a / 1\nc = 3\n"


def test_review_without_a_findings_list_is_invalid():
    with pytest.raises(InvalidAnswer):
        parse_review('{"result": "looks fine"}', Source("x\n", "x.py"))


def test_source_lines_and_offsets_handle_crlf_lone_cr_and_tabs():
    source = Source("a\r\n\tb\rc\n")
    assert source.lines == ["a\r\n", "\tb\r", "c\n"]
    assert source.offset(Position(1, 1)) == 4
    assert source.offset(Position(9, 0)) == len(source.text)
    assert source.offset(Position(0, 99)) == 1  # clamped to the line's end


def test_context_the_model_echoed_back_is_not_duplicated():
    source = Source("def add(a, b):\n    return a - b\n\nprint(add(1, 2))\n", "m.py")
    echoed = "def add(a, b):\n    return a + b\n\nprint(add(1, 2))"
    replacement = checked_replacement(source, 1, 1, echoed)
    assert replacement.new_text() == "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"


def test_a_longer_answer_that_is_not_an_echo_is_kept_whole():
    source = Source("x = 1\ny = 2\n", "m.py")
    replacement = checked_replacement(source, 1, 1, "y = 2\nz = 3")
    assert replacement.new_text() == "x = 1\ny = 2\nz = 3\n"
