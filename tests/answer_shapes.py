"""A corpus of answers shaped the way real models send them, with what each must become.

Each shape is one answer from the first model on the route (`fast`, or `strong` for reviews),
in the ways GPT-4.x and Claude (through OpenRouter), Qwen2.5-Coder, Qwen3, DeepSeek-R1 distills
and Llama (through Ollama, vLLM and llama.cpp) write them: reasoning blocks and fields, several
code blocks, diffs, no fence, echoed context, lost indentation, stray blank lines, the other
line ending, placeholders for existing code, JSON in prose and drafts.

`used` shapes must be read into exactly `expected`; refused ones (`used=False`) must fall back
to the next model, whose plain answer then gives `expected`. Nothing else is acceptable: the
test suites (tests/test_answer_shapes.py) run every shape through the engine, the command line
and the language server, streamed and not, and compare the file text (or findings, or hover)
exactly. The README's table of answer shapes counts this corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- the files the shapes are about -----------------------------------------------------------

CALC = (
    "def add(a, b):\n"
    "    return a - b\n"
    "\n"
    "\n"
    "def mean(values):\n"
    "    total = 0\n"
    "    for value in values:\n"
    "        total += value\n"
    "    return total / len(values)\n"
    "\n"
    "\n"
    "print(add(1, 2), mean([1, 2]))\n"
)
GREET = (
    "function greet(name) {\n"
    '  const message = "Hello, " + nam;\n'
    "  console.log(message);\n"
    "  return message;\n"
    "}\n"
    "\n"
    "module.exports = { greet };\n"
)
ADD_GO = (
    "package main\n"
    "\n"
    'import "fmt"\n'
    "\n"
    "func add(a int, b int) int {\n"
    "\treturn a - b\n"
    "}\n"
    "\n"
    "func main() {\n"
    "\tfmt.Println(add(1, 2))\n"
    "}\n"
)
IMPORTS = "import os\nimport sys\n\nprint(sys.argv)\n"
STUB = "def todo():\n    ...\n"

FILES = {
    "calc.py": CALC,
    "calc_crlf.py": CALC.replace("\n", "\r\n"),
    "greet.js": GREET,
    "add.go": ADD_GO,
    "imports.py": IMPORTS,
    "stub.py": STUB,
}
LANGUAGES = {".py": "python", ".js": "javascript", ".go": "go"}


@dataclass(frozen=True)
class Target:
    """Lines to fix (1-based, inclusive), the diagnostic's message, the fixed file, and the
    plain answer the next model gives when the first one's is refused."""

    file: str
    line: int
    end_line: int
    message: str
    fixed: str
    fallback: str


ADD_FIXED = CALC.replace("return a - b", "return a + b")
EMPTY_FIXED = CALC.replace(
    "    total = 0\n", "    if not values:\n        return 0.0\n    total = 0\n"
)
RETURN_FIXED = CALC.replace("len(values)\n", "max(len(values), 1)\n")
GREET_FIXED = GREET.replace("+ nam;", "+ name;")
GO_FIXED = ADD_GO.replace("a - b", "a + b")

TARGETS = {
    "add": Target(
        "calc.py", 2, 2, "add() subtracts instead of adding", ADD_FIXED,
        "```python\n    return a + b\n```",
    ),
    "add+blank": Target(
        "calc.py", 2, 3, "add() subtracts instead of adding", ADD_FIXED,
        "```python\n    return a + b\n\n```",
    ),
    "empty": Target(
        "calc.py", 6, 9, "mean() divides by zero for an empty list", EMPTY_FIXED,
        "```python\n    if not values:\n        return 0.0\n    total = 0\n"
        "    for value in values:\n        total += value\n    return total / len(values)\n```",
    ),
    "return": Target(
        "calc.py", 9, 9, "mean() divides by zero for an empty list", RETURN_FIXED,
        "```python\n    return total / max(len(values), 1)\n```",
    ),
    "crlf": Target(
        "calc_crlf.py", 2, 2, "add() subtracts instead of adding",
        ADD_FIXED.replace("\n", "\r\n"), "```python\n    return a + b\n```",
    ),
    "greet": Target(
        "greet.js", 2, 2, "'nam' is not defined", GREET_FIXED,
        '```javascript\n  const message = "Hello, " + name;\n```',
    ),
    "greet-body": Target(
        "greet.js", 2, 4, "'nam' is not defined", GREET_FIXED,
        '```javascript\n  const message = "Hello, " + name;\n  console.log(message);\n'
        "  return message;\n```",
    ),
    "exports": Target(
        "greet.js", 7, 7, "also export greet as the default", GREET.replace(
            "module.exports = { greet };", "module.exports = { ...{ greet }, default: greet };"
        ),
        "```js\nmodule.exports = { ...{ greet }, default: greet };\n```",
    ),
    "go": Target(
        "add.go", 6, 6, "add subtracts", GO_FIXED, "```go\n\treturn a + b\n```"
    ),
    "go-func": Target(
        "add.go", 5, 7, "add subtracts", GO_FIXED,
        "```go\nfunc add(a int, b int) int {\n\treturn a + b\n}\n```",
    ),
    "unused-import": Target(
        "imports.py", 1, 1, "F401 `os` imported but unused", IMPORTS.replace("import os\n", ""),
        "```python\n```",
    ),
    "stub": Target(
        "stub.py", 1, 2, "D103 Missing docstring in public function",
        'def todo():\n    """Not written yet."""\n    ...\n',
        '```python\ndef todo():\n    """Not written yet."""\n    ...\n```',
    ),
}  # fmt: skip


@dataclass(frozen=True)
class FixShape:
    """An answer to a fix of `target`: `used` (it gives the target's fixed file) or refused."""

    name: str
    category: str
    target: str
    content: str
    used: bool = True
    reasoning: str | None = None  # in a separate field
    reasoning_field: str = "reasoning_content"
    piece_chars: int | None = None  # streamed: characters per event (default 3)
    write_bytes: int | None = None  # streamed: bytes per write


@dataclass(frozen=True)
class Finding:
    line: int
    end_line: int
    severity: str
    message: str
    fixed: str | None = None  # the file after applying the finding's suggestion, if usable


@dataclass(frozen=True)
class ReviewShape:
    name: str
    category: str
    content: str
    expected: tuple[Finding, ...]
    used: bool = True
    reasoning: str | None = None
    file: str = "calc.py"


@dataclass(frozen=True)
class ExplainShape:
    name: str
    category: str
    content: str
    expected: str
    used: bool = True
    reasoning: str | None = None
    reasoning_field: str = "reasoning_content"


PY_ADD = "```python\n    return a + b\n```"

FIX_SHAPES: tuple[FixShape, ...] = (
    # -- reasoning: never shown, never used ---------------------------------------------------
    FixShape(
        "think-block-with-a-draft", "reasoning", "add",
        "<think>\nThe operator looks wrong. A first idea:\n```python\n    return b - a\n```\n"
        "No: it must add.\n</think>\n\n" + PY_ADD,
        piece_chars=1,
    ),
    FixShape(
        "lone-closing-think", "reasoning", "add",
        "The template opened the tag. Draft:\n```python\n    return 0\n```\nWrong too.\n"
        "</think>\n" + PY_ADD,
        piece_chars=1, write_bytes=1,
    ),
    FixShape(
        "reasoning-content-field", "reasoning", "add", PY_ADD,
        reasoning="I considered ```python\n    return 0\n``` first.",
    ),
    FixShape(
        "reasoning-field-openrouter", "reasoning", "add", PY_ADD,
        reasoning="The subtraction is the bug.", reasoning_field="reasoning",
    ),
    FixShape(
        "thinking-tag", "reasoning", "add",
        "<thinking>\nsubtracting is wrong\n</thinking>\n" + PY_ADD,
    ),
    FixShape(
        "harmony-channels", "reasoning", "add",
        "<|channel|>analysis<|message|>Change the operator. Draft: ```python\n    return 0\n```"
        "<|end|><|start|>assistant<|channel|>final<|message|>" + PY_ADD + "<|return|>",
    ),
    FixShape(
        "think-then-unfenced-code", "reasoning", "add",
        "<think>\nJust the line.\n</think>\n\n    return a + b",
    ),
    FixShape(
        "only-reasoning-never-closed", "reasoning", "add",
        "<think>\nThe fix is clearly:\n" + PY_ADD + "\nLet me check the rest of the file",
        used=False,
    ),
    FixShape(
        "only-reasoning-field", "reasoning", "add", "",
        reasoning="The answer is:\n" + PY_ADD, used=False,
    ),
    FixShape(
        "fix-only-inside-reasoning", "reasoning", "add",
        "<think>\n" + PY_ADD + "\n</think>\n```python\n    return a - b\n```",
        used=False,
    ),
    # -- several blocks: the one that replaces the asked lines ----------------------------------
    FixShape(
        "original-quoted-first", "blocks", "add",
        "The original:\n```python\n    return a - b\n```\nFixed:\n" + PY_ADD,
    ),
    FixShape(
        "fix-then-usage-example", "blocks", "add",
        PY_ADD + "\n\nUsage:\n```python\nprint(add(2, 3))  # 5\n```",
    ),
    FixShape(
        "after-then-before", "blocks", "add",
        "After:\n" + PY_ADD + "\nBefore:\n```python\n    return a - b\n```",
    ),
    FixShape(
        "shell-block-first", "blocks", "add",
        "Nothing to install:\n```bash\n# no dependencies needed\n```\n" + PY_ADD,
    ),
    FixShape(
        "function-then-test", "blocks", "add",
        "```python\ndef add(a, b):\n    return a + b\n```\n\nA test:\n"
        "```python\ndef test_add():\n    assert add(1, 2) == 3\n```",
    ),
    FixShape(
        "two-alternatives", "blocks", "add",
        "Option 1:\n" + PY_ADD + "\nOption 2:\n```python\n    return sum((a, b))\n```",
    ),
    FixShape("tilde-fence", "blocks", "add", "~~~python\n    return a + b\n~~~"),
    FixShape("four-backtick-fence", "blocks", "add", "````python\n    return a + b\n````"),
    FixShape("fence-without-language", "blocks", "add", "```\n    return a + b\n```"),
    FixShape("fence-never-closed", "blocks", "add", "```python\n    return a + b\n"),
    FixShape(
        "fence-never-closed-then-a-remark", "blocks", "greet",
        '```js\n  const message = "Hello, " + name;\n\nThis fixes the typo in the name.',
    ),
    FixShape(
        "only-the-original-quoted", "blocks", "add",
        "```python\n    return a - b\n```\nThis line looks correct to me.", used=False,
    ),
    # -- diffs: applied exactly, or refused -----------------------------------------------------
    FixShape(
        "diff-with-headers", "diff", "add",
        "```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n"
        "-    return a - b\n+    return a + b\n```",
    ),
    FixShape(
        "diff-without-headers", "diff", "add", "```diff\n-    return a - b\n+    return a + b\n```"
    ),
    FixShape("bare-diff", "diff", "add", "@@ -2 +2 @@\n-    return a - b\n+    return a + b"),
    FixShape(
        "diff-with-blank-context", "diff", "add",
        "```diff\n def add(a, b):\n-    return a - b\n+    return a + b\n\n\n"
        " def mean(values):\n```",
    ),
    FixShape(
        "diff-with-wrong-line-numbers", "diff", "add",
        "```diff\n@@ -40,2 +40,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n```",
    ),
    FixShape(
        "diff-lost-indentation", "diff", "add", "```diff\n-return a - b\n+return a + b\n```"
    ),
    FixShape(
        "javascript-diff", "diff", "greet",
        '```diff\n-  const message = "Hello, " + nam;\n+  const message = "Hello, " + name;\n```',
    ),
    FixShape(
        "diff-of-lines-not-in-the-file", "diff", "add",
        "```diff\n-    return a - c\n+    return a + c\n```", used=False,
    ),
    FixShape(
        "diff-changing-lines-outside-the-range", "diff", "add",
        "```diff\n-def add(a, b):\n-    return a - b\n+def add(x, y):\n+    return x + y\n```",
        used=False,
    ),
    FixShape(
        "javascript-diff-not-applying", "diff", "greet",
        '```diff\n-  const msg = "Hello, " + nam;\n+  const msg = "Hello, " + name;\n```',
        used=False,
    ),
    # -- no fence at all -------------------------------------------------------------------------
    FixShape("bare-code", "unfenced", "add", "    return a + b"),
    FixShape("bare-code-unindented", "unfenced", "add", "return a + b"),
    FixShape(
        "code-between-prose", "unfenced", "add",
        "Here is the fixed line:\n\n    return a + b\n\nThis fixes the subtraction.",
    ),
    FixShape("inline-backticks", "unfenced", "add", "`return a + b`"),
    FixShape(
        "prose-only", "unfenced", "greet",
        "The variable is misspelled; it should be name instead of nam.", used=False,
    ),
    FixShape(
        "prose-mixed-with-code", "unfenced", "greet",
        'Change the line to:\n  const message = "Hello, " + name;\n'
        "and also consider renaming the function to something clearer.\n"
        "  function hello(name) {",
        used=False,
    ),
    # -- echoed context and enclosing headers ----------------------------------------------------
    FixShape("function-echoed", "echo", "add", "```python\ndef add(a, b):\n    return a + b\n```"),
    FixShape("whole-file-echoed", "echo", "add", "```python\n" + ADD_FIXED + "```"),
    FixShape(
        "header-without-the-lines-between", "echo", "return",
        "```python\ndef mean(values):\n    return total / max(len(values), 1)\n```",
    ),
    FixShape(
        "javascript-function-echoed", "echo", "greet",
        '```javascript\nfunction greet(name) {\n  const message = "Hello, " + name;\n'
        "  console.log(message);\n  return message;\n}\n```",
    ),
    FixShape(
        "javascript-header-and-brace", "echo", "greet",
        '```js\nfunction greet(name) {\n  const message = "Hello, " + name;\n}\n```',
    ),
    FixShape(
        "header-rewritten", "echo", "add", "```python\ndef add(x, y):\n    return x + y\n```",
        used=False,
    ),
    FixShape(
        "context-rewritten", "echo", "return",
        "```python\n    total = 0\n    for value in values:\n        total += value * 1\n"
        "    return total / max(len(values), 1)\n```",
        used=False,
    ),
    # -- indentation -----------------------------------------------------------------------------
    FixShape(
        "first-line-indentation-lost", "indentation", "empty",
        "```python\nif not values:\n        return 0.0\n    total = 0\n    for value in values:\n"
        "        total += value\n    return total / len(values)\n```",
    ),
    FixShape(
        "all-indentation-lost", "indentation", "empty",
        "```python\nif not values:\n    return 0.0\ntotal = 0\nfor value in values:\n"
        "    total += value\nreturn total / len(values)\n```",
    ),
    FixShape("spaces-in-a-tab-file", "indentation", "go", "```go\n    return a + b\n```"),
    FixShape("unindented-in-a-tab-file", "indentation", "go", "```go\nreturn a + b\n```"),
    FixShape("tabs-in-a-space-file", "indentation", "add", "```python\n\treturn a + b\n```"),
    # -- blank lines at the edges, line endings ---------------------------------------------------
    FixShape(
        "blank-lines-around-the-code", "edges", "add", "```python\n\n\n    return a + b\n\n```"
    ),
    FixShape("range-ending-in-a-blank-line", "edges", "add+blank", PY_ADD),
    FixShape("trailing-whitespace", "edges", "add", "```python\n    return a + b   \n```"),
    FixShape("crlf-answer-for-an-lf-file", "line endings", "add", PY_ADD.replace("\n", "\r\n")),
    FixShape("lf-answer-for-a-crlf-file", "line endings", "crlf", PY_ADD),
    # -- placeholders for existing code ----------------------------------------------------------
    FixShape(
        "rest-unchanged-comment", "lost code", "empty",
        "```python\n    if not values:\n        return 0.0\n"
        "    # ... rest of the function unchanged ...\n```",
        used=False,
    ),
    FixShape(
        "rest-unchanged-without-dots", "lost code", "empty",
        "```python\n    if not values:\n        return 0.0\n    # rest of the loop unchanged\n```",
        used=False,
    ),
    FixShape(
        "bare-ellipsis", "lost code", "empty",
        "```python\n    if not values:\n        return 0.0\n    ...\n```",
        used=False,
    ),
    FixShape(
        "unicode-ellipsis-in-the-middle", "lost code", "empty",
        "```python\n    if not values:\n        return 0.0\n    …\n"
        "    return total / len(values)\n```",
        used=False,
    ),
    FixShape(
        "existing-code-comment-javascript", "lost code", "greet-body",
        '```javascript\n  const message = "Hello, " + name;\n  // ... existing code ...\n```',
        used=False,
    ),
    FixShape(
        "rest-unchanged-go", "lost code", "go-func",
        "```go\nfunc add(a int, b int) int {\n\t// rest unchanged\n}\n```", used=False,
    ),
    FixShape(
        "placeholder-for-lines-outside-the-range", "lost code", "add",
        "```python\ndef add(a, b):\n    # ... existing code ...\n    return a + b\n```",
    ),
    FixShape(
        "ellipsis-that-is-code", "lost code", "stub",
        '```python\ndef todo():\n    """Not written yet."""\n    ...\n```',
    ),
    FixShape(
        "spread-syntax-is-not-a-placeholder", "lost code", "exports",
        "```javascript\nmodule.exports = { ...{ greet }, default: greet };\n```",
    ),
    FixShape(
        "only-the-added-lines", "lost code", "empty",
        "```python\n    if not values:\n        return 0.0\n```", used=False,
    ),
    # -- other shapes ----------------------------------------------------------------------------
    FixShape("empty-block-deletes-the-line", "other", "unused-import", "```python\n```"),
    FixShape("line-numbers-kept", "other", "add", "```python\n2|     return a + b\n```"),
    FixShape("breaks-the-syntax", "other", "add", "```python\n    return a +\n```", used=False),
    FixShape(
        "whole-file-and-an-explanation", "other", "add",
        "Here is the corrected file:\n```python\n" + ADD_FIXED + "```\nI changed `-` to `+`.",
    ),
)  # fmt: skip


REVIEW_FALLBACK = (
    '{"findings": [{"line": 2, "end_line": 2, "severity": "error", "message": "add() subtracts",'
    ' "suggestion": "    return a + b"}]}'
)
ADD_FINDING = Finding(2, 2, "error", "add() subtracts", ADD_FIXED)

REVIEW_SHAPES: tuple[ReviewShape, ...] = (
    ReviewShape(
        "json-in-a-fence-after-prose", "review",
        "Here is my review:\n```json\n" + REVIEW_FALLBACK + "\n```",
        (ADD_FINDING,),
    ),
    ReviewShape(
        "retracted-draft-in-think", "review",
        '<think>\nDraft: {"findings": [{"line": 12, "severity": "error", "message": '
        '"print is wrong"}]}\nActually the print is fine.\n</think>\n'
        '{"findings": [{"line": 9, "severity": "warning", "message": '
        '"mean() divides by zero for an empty list"}]}',
        (Finding(9, 9, "warning", "mean() divides by zero for an empty list"),),
    ),
    ReviewShape(
        "draft-then-correction-without-tags", "review",
        'First pass:\n```json\n{"findings": [{"line": 12, "severity": "error", "message": '
        '"print is wrong"}]}\n```\nOn reflection the print is fine. Final answer:\n```json\n'
        '{"findings": [{"line": 2, "severity": "error", "message": "add() subtracts"}]}\n```',
        (Finding(2, 2, "error", "add() subtracts"),),
    ),
    ReviewShape(
        "retracted-draft-in-reasoning-field", "review",
        '{"findings": [{"line": 2, "severity": "error", "message": "add() subtracts"}]}',
        (Finding(2, 2, "error", "add() subtracts"),),
        reasoning='{"findings": [{"line": 1, "severity": "error", "message": "draft"}]}',
    ),
    ReviewShape(
        "bare-list", "review",
        '[{"line": 2, "severity": "high", "message": "add() subtracts"}]',
        (Finding(2, 2, "error", "add() subtracts"),),
    ),
    ReviewShape(
        "lines-as-strings-and-ranges", "review",
        '{"findings": [{"line": "L2", "severity": "major", "message": "add() subtracts"}, '
        '{"line": "6-9", "severity": "minor", "message": "mean() has no empty check"}]}',
        (
            Finding(2, 2, "warning", "add() subtracts"),
            Finding(6, 9, "info", "mean() has no empty check"),
        ),
    ),
    ReviewShape(
        "severity-words", "review",
        '{"findings": ['
        '{"line": 1, "severity": "critical", "message": "a"}, '
        '{"line": 2, "severity": "Blocker", "message": "b"}, '
        '{"line": 5, "severity": "medium", "message": "c"}, '
        '{"line": 6, "severity": "low", "message": "d"}, '
        '{"line": 7, "severity": "note", "message": "e"}, '
        '{"line": 8, "severity": "suggestion", "message": "f"}, '
        '{"line": 9, "severity": "nit", "message": "g"}, '
        '{"line": 12, "severity": "critical style issue", "message": "h"}, '
        '{"line": 12, "end_line": 12, "severity": "low-priority bug", "message": "i"}, '
        '{"line": 12, "severity": "whatever", "message": "j"}]}',
        (
            Finding(1, 1, "error", "a"),
            Finding(2, 2, "error", "b"),
            Finding(5, 5, "warning", "c"),
            Finding(6, 6, "info", "d"),
            Finding(7, 7, "info", "e"),
            Finding(8, 8, "hint", "f"),
            Finding(9, 9, "hint", "g"),
            Finding(12, 12, "error", "h"),
            Finding(12, 12, "info", "i"),
            Finding(12, 12, "warning", "j"),
        ),
    ),
    ReviewShape(
        "findings-beyond-the-end", "review",
        '{"findings": [{"line": 40, "severity": "error", "message": "past the end"}, '
        '{"line": 12, "end_line": 30, "severity": "info", "message": "print at module level", '
        '"suggestion": "if __name__ == \\"__main__\\":\\n    print(add(1, 2))"}]}',
        (Finding(12, 12, "info", "print at module level"),),
    ),
    ReviewShape(
        "suggestion-as-a-diff", "review",
        '{"findings": [{"line": 2, "severity": "error", "message": "add() subtracts", '
        '"suggestion": "```diff\\n-    return a - b\\n+    return a + b\\n```"}]}',
        (ADD_FINDING,),
    ),
    ReviewShape(
        "suggestion-with-line-numbers", "review",
        '{"findings": [{"line": 2, "severity": "error", "message": "add() subtracts", '
        '"suggestion": "2|     return a + b"}]}',
        (ADD_FINDING,),
    ),
    ReviewShape(
        "suggestion-with-a-placeholder", "review",
        '{"findings": [{"line": 5, "end_line": 9, "severity": "warning", "message": '
        '"mean() divides by zero", "suggestion": "def mean(values):\\n    if not values:\\n'
        '        return 0.0\\n    # ... rest unchanged"}]}',
        (Finding(5, 9, "warning", "mean() divides by zero"),),
    ),
    ReviewShape(
        "only-reasoning", "review", "",
        (ADD_FINDING,), used=False,
        reasoning='{"findings": [{"line": 2, "severity": "error", "message": "add() subtracts"}]}',
    ),
    ReviewShape(
        "prose-instead-of-json", "review", "The code looks fine to me.", (ADD_FINDING,),
        used=False,
    ),
)  # fmt: skip

EXPLAIN_TEXT = "`add` subtracts its arguments, despite its name."
EXPLAIN_FALLBACK = "`add` returns `a - b`."

EXPLAIN_SHAPES: tuple[ExplainShape, ...] = (
    ExplainShape(
        "think-block", "explain",
        "<think>\nThe user hovers add. It subtracts.\n</think>\n" + EXPLAIN_TEXT, EXPLAIN_TEXT,
    ),
    ExplainShape(
        "lone-closing-think", "explain", "It subtracts; say so.</think>\n\n" + EXPLAIN_TEXT,
        EXPLAIN_TEXT,
    ),
    ExplainShape(
        "reasoning-content-field", "explain", EXPLAIN_TEXT, EXPLAIN_TEXT,
        reasoning="Hovering add; explain briefly.",
    ),
    ExplainShape(
        "markdown-fence", "explain", "```markdown\n" + EXPLAIN_TEXT + "\n```", EXPLAIN_TEXT
    ),
    ExplainShape(
        "harmony-channels", "explain",
        "<|channel|>analysis<|message|>Explain add.<|end|><|start|>assistant<|channel|>final"
        "<|message|>" + EXPLAIN_TEXT,
        EXPLAIN_TEXT,
    ),
    ExplainShape(
        "only-reasoning", "explain", "<think>\nIt subtracts, I think", EXPLAIN_FALLBACK,
        used=False,
    ),
)  # fmt: skip


def tally() -> dict[str, tuple[int, int]]:
    """Per category: how many shapes are understood (used) and how many refused."""
    counts: dict[str, tuple[int, int]] = {}
    for shape in (*FIX_SHAPES, *REVIEW_SHAPES, *EXPLAIN_SHAPES):
        used, refused = counts.get(shape.category, (0, 0))
        counts[shape.category] = (used + shape.used, refused + (not shape.used))
    return counts
