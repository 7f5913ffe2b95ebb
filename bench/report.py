"""The results as Markdown tables (printed, and pasted into the README), the targets, and the
latency chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

NA = "\u2013"  # an en dash: no figure
CONTENDER_LABELS = {"direct": "direct httpx", "switchboard": "Switchboard", "litellm": "LiteLLM"}


def _ms(value: float | None, digits: int = 2) -> str:
    return NA if value is None else f"{value:.{digits}f}"


def _pair(row: dict[str, Any] | None, digits: int = 2) -> str:
    if not row or row.get("p50") is None:
        return NA
    return f"{_ms(row['p50'], digits)} / {_ms(row['p99'], digits)}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def latency_table(latency: dict[str, Any]) -> str:
    rows = []
    for sc in latency["scenarios"]:
        lat, added = sc["latency_ms"], sc["added_ms"]
        rows.append(
            [
                f"{sc['provider_ms']} ms",
                "sequential" if sc["concurrency"] == 1 else f"{sc['concurrency']} concurrent",
                _pair(lat["direct"]),
                _pair(lat["switchboard"]),
                _pair(lat.get("litellm")),
                _signed(added["switchboard"]["p50"]) + " / " + _signed(added["switchboard"]["p99"]),
                (
                    _signed(added["litellm"]["p50"]) + " / " + _signed(added["litellm"]["p99"])
                    if "litellm" in added
                    else NA
                ),
                _cpu(lat),
            ]
        )
    return _table(
        [
            "provider",
            "load",
            "direct httpx p50 / p99",
            "Switchboard p50 / p99",
            "LiteLLM Router p50 / p99",
            "Switchboard added",
            "LiteLLM added",
            "client CPU per request (direct / Switchboard / LiteLLM)",
        ],
        rows,
    )


def _signed(value: float | None) -> str:
    return NA if value is None else f"{value:+.2f}"


def _cpu(lat: dict[str, Any]) -> str:
    names = ("direct", "switchboard", "litellm")
    return " / ".join(_ms(lat[n]["cpu_ms_per_request"]) for n in names if n in lat)


def failover_table(failover: dict[str, Any]) -> str:
    rows = []
    words = {
        "503": "503",
        "429_retry_after": "429, Retry-After 30 s",
        "hang": f"hangs (timeout {failover['hang_timeout_s']:g} s)",
    }
    for sc in failover["scenarios"]:
        for name, first in sc["first_request_ms"].items():
            steady = sc["steady_ms"][name]
            over = sc["over_fallback_ms"].get(name, {})
            rows.append(
                [
                    words.get(sc["failure"], sc["failure"]),
                    "fallback alone (direct)" if name == "direct" else CONTENDER_LABELS[name],
                    _ms(first["p50"], 1) + _errors(first),
                    _pair(steady, 1) + _errors(steady),
                    NA if name == "direct" else _signed(over.get("steady_p50")),
                    (
                        NA
                        if name == "direct"
                        else str(sc["primary_calls_in_steady_state"].get(name, NA))
                    ),
                ]
            )
    return _table(
        [
            "primary",
            "client",
            "first request p50",
            "steady state p50 / p99",
            "steady p50 over the fallback alone",
            "calls to the primary in steady state",
        ],
        rows,
    )


def _errors(row: dict[str, Any]) -> str:
    return f" ({row['errors']} failed)" if row.get("errors") else ""


def tail_table(tail: dict[str, Any]) -> str:
    rows = []
    for name, label in (("hedging_off", "off"), ("hedging_on", "on")):
        r = tail["latency_ms"][name]
        rows.append([label, _ms(r["p50"], 1), _ms(r["p95"], 1), _ms(r["p99"], 1)])
    fallback = tail["fallback_alone_ms"]
    rows.append(["fallback alone", _ms(fallback["p50"], 1), _ms(fallback["p95"], 1), NA])
    return _table(["hedging", "p50", "p95", "p99"], rows)


def editor_table(editor: dict[str, Any]) -> str:
    rows = []
    init = editor["initialize_ms"]["spawn_to_result"]
    rows.append(["`initialize` (process start to result)", _pair(init, 0)])
    bare = editor["initialize_ms"].get("bare_pygls_spawn_to_result")
    if bare and bare.get("p50") is not None:
        rows.append(
            ["`initialize` of a bare pygls server (no features: the floor)", _pair(bare, 0)]
        )
    for size, row in editor["listing_ms"].items():
        rows.append([f"code-action listing, {int(size):,}-line file", _pair(row)])
    rows.append(["hover answered from the cache", _pair(editor["hover_ms"]["cached"])])
    rows.append(
        ["hover on an empty line (the protocol's floor)", _pair(editor["hover_ms"]["empty_line"])]
    )
    fill = editor["cache_fill"]
    after, idle = fill["rss_kb_after"]["VmRSS"], editor["rss_kb_idle"]["VmRSS"]
    entries = (fill.get("cache") or {}).get("memory_entries", fill["entries_asked"])
    rows.append(
        [
            f"server RSS with {entries:,} cached entries (idle)",
            f"{after / 1024:.1f} MB ({idle / 1024:.1f} MB)",
        ]
    )
    return _table(["measure", "p50 / p99 ms"], rows)


def cost_table(cost: dict[str, Any]) -> str:
    rows = []
    for r in cost["rows"]:
        review = (
            f"{r['review_prompt_tokens']:,}"
            if r["review_refused"] is None
            else "0 (refused: larger than the window)"
        )
        rows.append([f"{r['lines']:,}", f"{r['fix_prompt_tokens']:,}", review])
    return _table(["file lines", "one-line fix: prompt tokens", "review: prompt tokens"], rows)


def complete_added_table(added: dict[str, Any]) -> str:
    rows = []
    for sc in added["scenarios"]:
        lat, plus = sc["latency_ms"], sc["added_ms"]["switchboard"]
        rows.append(
            [
                "FIM (`/v1/completions`)" if sc["route"] == "fim" else "chat",
                f"{sc['provider_ms']} ms",
                _pair(lat["direct"]),
                _pair(lat["switchboard"]),
                _signed(plus["p50"]) + " / " + _signed(plus["p99"]),
            ]
        )
    return _table(
        ["route", "provider", "direct httpx p50 / p99", "Switchboard p50 / p99", "added"], rows
    )


def complete_tail_table(tail: dict[str, Any]) -> str:
    rows = []
    for name, label in (("hedging_off", "off"), ("hedging_on", "on")):
        r = tail["latency_ms"][name]
        calls = tail["second_model_calls"][name]
        rows.append([label, _ms(r["p50"], 1), _ms(r["p95"], 1), _ms(r["p99"], 1), str(calls)])
    return _table(["hedging", "p50", "p95", "p99", "calls to the second model"], rows)


def typing_table(typing: dict[str, Any]) -> str:
    rate = typing["hit_rate"]
    row = [
        f"{typing['keystrokes']:,}",
        str(typing["typed_ahead"]),
        str(typing["cache"]),
        str(typing["model"]),
        str(typing["no_suggestion"]),
        NA if rate is None else f"{rate:.1%}",
        str(typing["repeats_text_after_cursor"]),
    ]
    header = [
        "keystrokes",
        "typed-ahead",
        "cache",
        "model",
        "no suggestion",
        "hit rate (no model call)",
        "suggestions doubling the text after the cursor",
    ]
    return _table(header, [row])


def debounce_table(debounce: dict[str, Any]) -> str:
    rows = []
    for model_ms, by in debounce["by_model_ms"].items():
        for ms, r in by["by_debounce_ms"].items():
            rows.append(
                [
                    f"{model_ms} ms",
                    f"{ms} ms",
                    f"{r['keystrokes']:,}",
                    str(r["model_requests"]),
                    f"{r['model_requests_per_100_keystrokes']:.1f}",
                    str(r["model_calls_cut_off"]),
                    str(r["requests_cancelled"]),
                    str(r["suggestions_shown"]),
                ]
            )
    header = [
        "model answers in",
        "debounce",
        "keystrokes",
        "model requests",
        "per 100 keystrokes",
        "cut off mid-answer",
        "LSP requests cancelled",
        "suggestions shown",
    ]
    return _table(header, rows)


def complete_markdown(c: dict[str, Any]) -> str:
    added, tail, typing, debounce = c["added"], c["tail"], c["typing"], c["debounce"]
    low, high = (1000 * s for s in tail["slow_s"])
    return "\n\n".join(
        [
            f"**6. Inline completion** ({added['requests_per_contender']:,} suggestions per "
            "contender and scenario, sequential; ms)\n\n" + complete_added_table(added),
            f"Hedging (first model {tail['first_ms']} ms, {tail['slow_share']:.0%} of its "
            f"answers {low:.0f}\u2013{high:.0f} ms, second model {tail['second_ms']} ms; hedge "
            f"delay learned: {tail['hedge_delay_ms']:g} ms; p99 off / on: "
            f"{_ratio(tail['p99_off_over_on'])}; ms)\n\n" + complete_tail_table(tail),
            f"Typed-ahead reuse ({typing['sessions']} typing session(s) of "
            f"{typing['lines_per_session']} lines over `switchboard lsp`, every answer awaited)"
            "\n\n" + typing_table(typing),
            f"Debounce (the same session at a human pace: {debounce['gap_ms'][0]}\u2013"
            f"{debounce['gap_ms'][1]} ms between keys, and pauses; requests not awaited)\n\n"
            + debounce_table(debounce),
        ]
    )


def _ratio(value: float | None) -> str:
    return NA if value is None else f"{value:g}x"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, the figure it is judged on, and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float | None, unit: str, met: bool | None):
        out.append({"target": name, "value": value, "limit": limit, "unit": unit, "met": met})

    latency = results.get("latency")
    if latency:
        for sc in latency["scenarios"]:
            if sc["concurrency"] != 1:
                continue
            sb = sc["added_ms"]["switchboard"]["p50"]
            add(f"added p50 over direct, provider {sc['provider_ms']} ms", sb, 0.5, "ms", sb <= 0.5)
            if "litellm" in sc["added_ms"]:
                ll = sc["added_ms"]["litellm"]["p50"]
                add(
                    f"LiteLLM's added p50 / Switchboard's, provider {sc['provider_ms']} ms",
                    round(ll / sb, 1) if sb > 0 else None,
                    10.0,
                    "x",
                    ll >= 10 * max(sb, 0.0),
                )
    failover = results.get("failover")
    if failover:
        for sc in failover["scenarios"]:
            over = sc["over_fallback_ms"]["switchboard"]["steady_p50"]
            add(
                f"failover, breaker open ({sc['failure']}): over the fallback",
                over,
                5.0,
                "ms",
                over is not None and over <= 5.0,
            )
    tail = results.get("tail")
    if tail:
        p99 = tail["latency_ms"]["hedging_on"]["p99"]
        limit = tail["target_p99_ms"]
        add(
            "hedged p99 vs 1.5 x (fallback p50 + hedge delay)",
            p99,
            limit,
            "ms",
            p99 is not None and limit is not None and p99 <= limit,
        )
    editor = results.get("editor")
    if editor:
        largest = max(editor["listing_ms"], key=int)
        p99 = editor["listing_ms"][largest]["p99"]
        add(f"listing p99 at {int(largest):,} lines", p99, 5.0, "ms", p99 <= 5.0)
        p99 = editor["hover_ms"]["cached"]["p99"]
        add("cached hover p99", p99, 5.0, "ms", p99 <= 5.0)
        p50 = editor["initialize_ms"]["spawn_to_result"]["p50"]
        add("initialize (process start to result, p50)", p50, 400.0, "ms", p50 <= 400.0)
        fill = editor["cache_fill"]
        mb = round(fill["rss_kb_after"]["VmRSS"] / 1024, 1)
        entries = (fill.get("cache") or {}).get("memory_entries", fill["entries_asked"])
        add(f"RSS with {entries:,} cached entries", mb, 100.0, "MB", mb <= 100.0)
    cost = results.get("cost")
    if cost:
        fixes = [r["fix_prompt_tokens"] for r in cost["rows"]]
        spread = max(fixes) / min(fixes) if fixes and min(fixes) else None
        add(
            "one-line fix tokens, largest file / smallest",
            round(spread, 3) if spread else None,
            1.1,
            "x",
            spread is not None and spread <= 1.1,
        )
    complete = results.get("complete")
    if complete:
        for sc in complete["added"]["scenarios"]:
            added = sc["added_ms"]["switchboard"]["p50"]
            add(
                f"completion added p50 over direct, {sc['route']}, provider {sc['provider_ms']} ms",
                added,
                1.0,
                "ms",
                added <= 1.0,
            )
    return out


def targets_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        value = NA if r["value"] is None else f"{r['value']:g} {r['unit']}"
        verdict = {True: "met", False: "**missed**", None: NA}[r["met"]]
        body.append(
            [
                r["target"],
                value,
                f"≤ {r['limit']:g} {r['unit']}"
                if r["unit"] != "x" or "LiteLLM" not in r["target"]
                else f"≥ {r['limit']:g}x",
                verdict,
            ]
        )
    return _table(["target", "measured", "target", ""], body)


def markdown(results: dict[str, Any]) -> str:
    parts = []
    if "latency" in results:
        n = results["latency"]["requests_per_contender"]
        parts.append(
            f"**1. Added latency** ({n:,} completions per contender and scenario, ms)\n\n"
            + latency_table(results["latency"])
        )
    if "failover" in results:
        fb = results["failover"]["fallback_ms"]
        parts.append(
            f"**2. Failover** (fallback answers in {fb} ms; ms)\n\n"
            + failover_table(results["failover"])
        )
    if "tail" in results:
        t = results["tail"]
        parts.append(
            f"**3. Tail latency** (primary {t['primary_ms']} ms, {t['slow_share']:.0%} of answers "
            f"{t['slow_s']:g} s; hedge delay learned: {t['hedge_delay_ms']:g} ms; ms)\n\n"
            + tail_table(t)
        )
    if "editor" in results:
        parts.append(
            "**4. Editor responsiveness** (`switchboard lsp` over stdio)\n\n"
            + editor_table(results["editor"])
        )
    if "cost" in results:
        parts.append("**5. Cost growth** (prompt tokens sent)\n\n" + cost_table(results["cost"]))
    if "complete" in results:
        parts.append(complete_markdown(results["complete"]))
    if results.get("targets"):
        parts.append("**Targets**\n\n" + targets_table(results["targets"]))
    return "\n\n".join(parts) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    """p50 and p99 per contender, one panel per latency scenario."""
    import matplotlib  # a bench-only dependency

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["latency"]["scenarios"]
    columns = sorted({sc["concurrency"] for sc in scenarios})
    rows = sorted({sc["provider_ms"] for sc in scenarios})
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(5.2 * len(columns), 3.8 * len(rows)), squeeze=False
    )
    colours = {"direct": "#9e9e9e", "switchboard": "#1f77b4", "litellm": "#d62728"}
    for sc in scenarios:
        ax = axes[rows.index(sc["provider_ms"])][columns.index(sc["concurrency"])]
        names = [n for n in ("direct", "switchboard", "litellm") if n in sc["latency_ms"]]
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            values = [sc["latency_ms"][name]["p50"], sc["latency_ms"][name]["p99"]]
            xs = [q + (i - (len(names) - 1) / 2) * width for q in range(2)]
            bars = ax.bar(xs, values, width, label=CONTENDER_LABELS[name], color=colours[name])
            ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=8, padding=2)
        load = "sequential" if sc["concurrency"] == 1 else f"{sc['concurrency']} concurrent"
        ax.set_title(f"provider answers in {sc['provider_ms']} ms, {load}", fontsize=10)
        ax.set_xticks(range(2), ["p50", "p99"])
        ax.set_ylabel("ms per completion")
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(
        "Latency per completion, lower is better (same run, loopback fake provider)", fontsize=11
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
