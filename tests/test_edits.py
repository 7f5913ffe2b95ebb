"""Model answers become minimal edits of exactly the requested lines, or are refused."""

from __future__ import annotations

import pytest

from switchboard.gateway import InvalidAnswer
from switchboard.tasks.answers import code_block, fence_for, json_payload
from switchboard.tasks.edits import checked_replacement, fit_replacement
from switchboard.tasks.review import parse_review
from switchboard.tasks.source import Position, Source


def test_code_block_takes_the_first_fenced_block():
    answer = "Here you go:\n```python\nx = 1\n```\nand also\n```\ny = 2\n```"
    assert code_block(answer) == "x = 1"
    assert code_block("~~~\na\n~~~") == "a"
    assert code_block("````py\nuse ``` inside\n````") == "use ``` inside"


@pytest.mark.parametrize("answer", ["x = 1", "```python\nx = 1", "", "x" * 300_000])
def test_code_block_refuses_answers_without_a_complete_block(answer):
    with pytest.raises(InvalidAnswer):
        code_block(answer)


def test_fence_outgrows_backticks_in_the_code():
    assert fence_for("plain") == "```"
    assert fence_for("a ```` b") == "`````"


def test_json_payload_tolerates_fences_and_chatter():
    assert json_payload('Sure!\n```json\n{"findings": []}\n```') == {"findings": []}
    assert json_payload('noise {"a": [1, 2]} trailing') == {"a": [1, 2]}
    with pytest.raises(InvalidAnswer):
        json_payload("no json here")


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


def test_python_that_no_longer_parses_is_invalid_but_only_if_it_parsed_before():
    good = Source("def f():\n    return 1\n", "x.py")
    with pytest.raises(InvalidAnswer, match="no longer parse"):
        checked_replacement(good, 1, 1, "    return (1")
    broken = Source("def f(:\n    return 1\n", "x.py")
    checked_replacement(broken, 1, 1, "    return (1")  # was broken already: not our regression


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
