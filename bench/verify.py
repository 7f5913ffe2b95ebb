"""What verifying a fix costs: each checker's time per fix, next to a model's own answer, and
the syntax check on a 10,000-line file.

    uv run python bench/verify.py [--runs N]

A fix is verified with two checker runs (the original, to find the diagnostic in the checker's
own words, and the edited text); the first run is shared by every model's edit of one request.
The model's latency here is the loopback fake answering after 300 ms, a fast hosted model's
typical time for a one-line fix. Code-action listing never runs a checker or a parser: its p99
is measured by `scripts/bench --only editor`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from switchboard.checks.registry import BUILTIN  # noqa: E402
from switchboard.checks.verify import Target, Verifier  # noqa: E402
from switchboard.config import config_from_mapping  # noqa: E402
from switchboard.tasks.replacement import Region, fit_code  # noqa: E402
from switchboard.tasks.source import Source  # noqa: E402
from switchboard.tasks.syntax import syntax_check  # noqa: E402

MODEL_MS = 300.0
TYPED = "def f(v: int) -> int:\n    return str(v)\n"
CASES = {  # checker: (file, text, code, message, the fixed line 2)
    "ruff": ("hello.py", 'def greet(name):\n    print("hi " + nam)\n', "F821",
             "Undefined name `nam`", '    print("hi " + name)'),
    "basedpyright": ("typed.py", TYPED, "reportReturnType", "", "    return v"),
    "mypy": ("typed.py", TYPED, "return-value", "", "    return v"),
    "eslint": ("g.js", "function g(name) {\n  return 'hi ' + nam;\n}\nmodule.exports = { g };\n",
               "no-undef", "'nam' is not defined.", "  return 'hi ' + name;"),
    "tsc": ("a.ts", "export function a(x: number): number {\n  return `${x}`;\n}\n", "TS2322",
            "Type 'string' is not assignable to type 'number'.", "  return x;"),
}  # fmt: skip
ESLINT_CONFIG = (
    'export default [{ files: ["**/*.js"], languageOptions: { sourceType: "commonjs", '
    'globals: { module: "writable" } }, rules: { "no-undef": "error" } }];\n'
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def checker_times(name: str, runs: int) -> list[float] | None:
    file, text, code, message, fixed = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / file).write_text(text)
        (root / "eslint.config.mjs").write_text(ESLINT_CONFIG)
        tools = ROOT / "tests" / "tools" / "node_modules"
        if tools.is_dir():
            (root / "node_modules").symlink_to(tools)
        checker = next(c for c in BUILTIN if c.name == name)
        if checker.executable(root) is None:
            return None
        config = config_from_mapping({}, environ={}, source="bench")
        source = Source(text, str(root / file))
        replacement = fit_code(Region(source, 1, 1), fixed)
        times = []
        for _ in range(runs):
            target = Target(name, code, message, 1, 1)
            verifier = Verifier(config, root / file, text, source.language, target, root=root)
            started = time.perf_counter()
            verdict = await verifier.verify(replacement.new_text(), 1, 1, 1, 60.0)
            times.append((time.perf_counter() - started) * 1000)
            if not verdict.verified:
                print(f"  {name}: {verdict.status} ({verdict.reason})")
        return times


def syntax_times(name: str, text: str, line: int, fixed: str, runs: int) -> list[float]:
    source = Source(text, name)
    replacement = fit_code(Region(source, line, line), fixed)
    check = syntax_check(source)
    assert check is not None
    check(replacement)  # loads the grammar and parses the original once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        check(replacement)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"Verification of one fix, {args.runs} runs each (model answer: {MODEL_MS:.0f} ms)\n")
    print("| checker | p50 ms | p95 ms | x the model's own latency (p50) |")
    print("|---|---|---|---|")
    for name in CASES:
        times = asyncio.run(checker_times(name, args.runs))
        if times is None:
            print(f"| {name} | not installed | | |")
            continue
        p50, p95 = statistics.median(times), pct(times, 95)
        print(f"| {name} | {p50:.0f} | {p95:.0f} | {p50 / MODEL_MS:.2f} |")
    lines = 10_000
    python = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(lines // 3))
    javascript = "".join(f"function f{i}(x) {{\n  return x + {i};\n}}\n" for i in range(lines // 3))
    middle = (lines // 3 // 2) * 3 + 1
    print(f"\nSyntax check of a one-line edit in a {lines:,}-line file, {args.runs * 5} runs\n")
    print("| language | how | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    py = syntax_times("big.py", python, middle, "    return x - 1", args.runs * 5)
    print(f"| python | ast, whole file | {statistics.median(py):.1f} | {pct(py, 95):.1f} |")
    broken = "def (:\n" + python  # not parsing: tree-sitter judges the edit's window
    ts_py = syntax_times("big.py", broken, middle + 1, "    return x - 1", args.runs * 5)
    print(
        f"| python | tree-sitter, 800-line window | {statistics.median(ts_py):.1f} | "
        f"{pct(ts_py, 95):.1f} |"
    )
    js = syntax_times("big.js", javascript, middle, "  return x - 1;", args.runs * 5)
    print(
        f"| javascript | tree-sitter, 800-line window | {statistics.median(js):.1f} | "
        f"{pct(js, 95):.1f} |"
    )


if __name__ == "__main__":
    main()
