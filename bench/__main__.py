"""Run the benchmarks: `python -m bench [--quick] [--only SECTIONS] [--no-litellm]`.

Prints the results as Markdown tables and writes them as JSON (bench/results/latest.json),
Markdown (latest.md) and a chart of the latency comparison (latency.png).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import complete, cost, editor, failover, harness, latency, report, tail
from bench.contenders import litellm_available
from bench.upstream import REPO_ROOT, FakeUpstream

SECTIONS = ("latency", "failover", "tail", "editor", "cost", "complete")
RESULTS = REPO_ROOT / "bench" / "results"


@dataclass(frozen=True)
class Workload:
    latency_requests: int
    latency_rounds: int
    latency_warmup: int
    latency_concurrency: tuple[int, ...]
    latency_delays_ms: tuple[int, ...]
    failover_first: int
    failover_hang_first: int
    failover_steady: int
    failover_rounds: int
    failover_kinds: tuple[str, ...] | None
    tail_requests: int
    tail_rounds: int
    tail_warmup: int
    tail_slow_s: float
    init_reps: int
    listings: int
    hovers: int
    cached_entries: int
    listing_sizes: tuple[int, ...]
    cost_sizes: tuple[int, ...]
    complete_requests: int
    complete_rounds: int
    complete_warmup: int
    complete_tail_requests: int
    complete_sessions: int  # the typed-ahead session, typed this many times
    complete_lines: int | None  # of its program (None: all)
    complete_paced_lines: int | None  # the same for the paced (debounce) sessions
    complete_gap_scale: float  # of the paced sessions' inter-key gaps


WORKLOADS = {
    "full": Workload(
        latency_requests=1000,
        latency_rounds=10,
        latency_warmup=50,
        latency_concurrency=(1, 32),
        latency_delays_ms=(0, 20),
        failover_first=10,
        failover_hang_first=3,
        failover_steady=200,
        failover_rounds=4,
        failover_kinds=None,
        tail_requests=300,
        tail_rounds=4,
        tail_warmup=30,
        tail_slow_s=3.0,
        init_reps=5,
        listings=300,
        hovers=500,
        cached_entries=10_000,
        listing_sizes=(100, 1_000, 10_000),
        cost_sizes=cost.SIZES,
        complete_requests=1000,
        complete_rounds=10,
        complete_warmup=50,
        complete_tail_requests=300,
        complete_sessions=3,
        complete_lines=None,
        complete_paced_lines=None,
        complete_gap_scale=1.0,
    ),
    "quick": Workload(
        latency_requests=200,
        latency_rounds=4,
        latency_warmup=20,
        latency_concurrency=(1, 32),
        latency_delays_ms=(0, 20),
        failover_first=3,
        failover_hang_first=1,
        failover_steady=60,
        failover_rounds=2,
        failover_kinds=None,
        tail_requests=100,
        tail_rounds=2,
        tail_warmup=20,
        tail_slow_s=3.0,
        init_reps=3,
        listings=100,
        hovers=100,
        cached_entries=1_000,
        listing_sizes=(100, 1_000, 10_000),
        cost_sizes=(100, 1_000, 10_000),
        complete_requests=200,
        complete_rounds=4,
        complete_warmup=20,
        complete_tail_requests=100,
        complete_sessions=1,
        complete_lines=None,
        complete_paced_lines=4,
        complete_gap_scale=1.0,
    ),
    # The test suite's smoke run (tests/test_bench_smoke.py): every code path, in seconds.
    "smoke": Workload(
        latency_requests=12,
        latency_rounds=2,
        latency_warmup=3,
        latency_concurrency=(1, 4),
        latency_delays_ms=(0, 5),
        failover_first=1,
        failover_hang_first=1,
        failover_steady=6,
        failover_rounds=1,
        failover_kinds=("503",),
        tail_requests=10,
        tail_rounds=1,
        tail_warmup=6,
        tail_slow_s=0.3,
        init_reps=0,
        listings=3,
        hovers=3,
        cached_entries=40,
        listing_sizes=(100, 1_000),
        cost_sizes=(100, 1_000),
        complete_requests=12,
        complete_rounds=2,
        complete_warmup=3,
        complete_tail_requests=10,
        complete_sessions=1,
        complete_lines=2,
        complete_paced_lines=2,
        complete_gap_scale=0.05,
    ),
}


def meta(mode: str, with_litellm: bool) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": mode,
        "commit": commit or None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {
            name: version(name)
            for name in ("switchboard", "httpx", "httpcore", "pygls", "litellm", "openai")
        },
        "litellm": with_litellm,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "fake_provider": "python -m tests.fake_provider in its own process (loopback HTTP)",
    }


async def run(
    mode: str = "full",
    only: tuple[str, ...] = SECTIONS,
    with_litellm: bool = True,
    log=print,
) -> dict[str, Any]:
    """Every section in `only`, against one fake provider process; the results as JSON data."""
    work = WORKLOADS[mode]
    harness.settle_seconds = 0.005 if mode == "smoke" else 0.05
    state = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    results: dict[str, Any] = {"meta": meta(mode, with_litellm)}
    try:
        with FakeUpstream() as upstream:
            for section in SECTIONS:
                if section not in only:
                    continue
                started = time.perf_counter()
                log(f"bench: {section}…")
                results[section] = await _section(section, work, upstream, state, with_litellm)
                log(f"bench: {section} done in {time.perf_counter() - started:.1f} s")
    finally:
        shutil.rmtree(state, ignore_errors=True)
    results["targets"] = report.targets(results)
    return results


async def _section(
    section: str, work: Workload, upstream: FakeUpstream, state: Path, with_litellm: bool
) -> dict[str, Any]:
    here = state / section
    here.mkdir()
    if section == "latency":
        return await latency.run(
            upstream,
            here,
            requests=work.latency_requests,
            rounds=work.latency_rounds,
            warmup=work.latency_warmup,
            with_litellm=with_litellm,
            concurrency=work.latency_concurrency,
            delays_ms=work.latency_delays_ms,
        )
    if section == "failover":
        return await failover.run(
            upstream,
            here,
            first_reps=work.failover_first,
            hang_first_reps=work.failover_hang_first,
            steady_requests=work.failover_steady,
            rounds=work.failover_rounds,
            with_litellm=with_litellm,
            kinds=work.failover_kinds,
        )
    if section == "tail":
        return await tail.run(
            upstream,
            here,
            requests=work.tail_requests,
            rounds=work.tail_rounds,
            warmup=work.tail_warmup,
            slow_s=work.tail_slow_s,
        )
    if section == "editor":
        return await editor.run(
            upstream,
            here,
            init_reps=work.init_reps,
            listings=work.listings,
            hovers=work.hovers,
            cached_entries=work.cached_entries,
            sizes=work.listing_sizes,
        )
    if section == "complete":
        return await complete.run(
            upstream,
            here,
            requests=work.complete_requests,
            rounds=work.complete_rounds,
            warmup=work.complete_warmup,
            tail_requests=work.complete_tail_requests,
            sessions=work.complete_sessions,
            lines=work.complete_lines,
            paced_lines=work.complete_paced_lines,
            gap_scale=work.complete_gap_scale,
        )
    return await cost.run(upstream, here, sizes=work.cost_sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (~3.5 minutes)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--no-litellm", action="store_true", help="leave LiteLLM out (its import alone takes ~5 s)"
    )
    parser.add_argument("--out", type=Path, help=f"JSON results (default {RESULTS}/latest.json)")
    parser.add_argument("--no-chart", action="store_true", help="do not draw latency.png")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    with_litellm = not args.no_litellm
    if with_litellm and not litellm_available():
        parser.error("LiteLLM is not installed: `uv sync --group bench` (or run with --no-litellm)")
    out = args.out or RESULTS / "latest.json"

    started = time.perf_counter()
    results = asyncio.run(run(mode, only, with_litellm, log=lambda m: print(m, file=sys.stderr)))
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = report.markdown(results)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    written = [out, out.with_suffix(".md")]
    if "latency" in results and not args.no_chart:
        picture = out.with_name("latency.png")
        report.chart(results, picture)
        written.append(picture)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
