"""A self-contained HTML page with two inline SVG scatter plots per task: usable rate against
cost per answer, and against p50 latency. No dependency, no script, no network."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from .report import Figures

_W, _H, _PAD = 420, 300, 48


def _plot(rows: Sequence[Figures], x_of: Callable[[Figures], float | None], x_label: str) -> str:
    points = [(row, x) for row in rows if (x := x_of(row)) is not None]
    top = max((x for _, x in points), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'role="img" aria-label="usable rate against {html.escape(x_label)}">',
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 10}" y2="{_H - _PAD}" stroke="#444"/>',
        f'<line x1="{_PAD}" y1="10" x2="{_PAD}" y2="{_H - _PAD}" stroke="#444"/>',
        f'<text x="{_W / 2}" y="{_H - 10}" text-anchor="middle">{html.escape(x_label)}</text>',
        f'<text x="12" y="{_H / 2}" transform="rotate(-90 12 {_H / 2})" '
        'text-anchor="middle">usable rate</text>',
        f'<text x="{_PAD - 4}" y="14" text-anchor="end">100%</text>',
        f'<text x="{_PAD - 4}" y="{_H - _PAD}" text-anchor="end">0%</text>',
        f'<text x="{_W - 10}" y="{_H - _PAD + 16}" text-anchor="end">{top:.6g}</text>',
    ]
    for row, x in points:
        cx = _PAD + (x / top) * (_W - _PAD - 20)
        cy = (_H - _PAD) - row.usable_rate * (_H - _PAD - 10)
        name = html.escape(row.model)
        parts.append(
            f'<circle class="model" cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="#2a6fdb">'
            f"<title>{name}: {row.usable_rate:.0%} usable, {x:.6g}</title></circle>"
            f'<text x="{cx + 7:.1f}" y="{cy - 7:.1f}">{name}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def chart_html(rows: Sequence[Figures]) -> str:
    sections = []
    for task in dict.fromkeys(row.task for row in rows):
        mine = [row for row in rows if row.task == task]
        sections.append(
            f"<h2>{html.escape(task)}</h2>"
            + _plot(mine, lambda r: r.cost_per_answer, "USD per answer")
            + _plot(mine, lambda r: r.p50_ms, "p50 latency (ms)")
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>switchboard compare</title>'
        "<style>body{font-family:sans-serif}svg{margin:8px;font-size:11px}</style></head>"
        "<body><h1>Usable answers against cost and latency</h1>"
        + "".join(sections)
        + "</body></html>\n"
    )
