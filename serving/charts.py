"""Charts for the audit report as inline SVG: plain markup, no plotting library to import,
nothing fetched, sharp at any zoom and when printed to PDF."""

from __future__ import annotations

import html
from collections.abc import Sequence

_FONT = "font-family='system-ui,-apple-system,Segoe UI,sans-serif' font-size='12'"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='{html.escape(title)}' {_FONT}>"
        f"<title>{html.escape(title)}</title>{''.join(body)}</svg>"
    )


def _fit(label: str, limit: int = 34) -> str:
    """A label short enough for the space left of a bar (the whole one is its tooltip)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def columns(
    counts: Sequence[float],
    colors: Sequence[str],
    *,
    title: str,
    x_labels: Sequence[str] = (),
    width: int = 640,
    height: int = 200,
) -> str:
    """Vertical bars, one per count, left to right (a histogram); ``x_labels`` are spread
    evenly under the axis."""
    top, bottom, left = 10, 22, 46
    peak = max(max(counts, default=0), 1)
    step = (width - left - 4) / max(len(counts), 1)
    plot = height - top - bottom
    body = [
        f"<text x='{left - 6}' y='{top + 4}' text-anchor='end'>{peak:,.0f}</text>",
        f"<text x='{left - 6}' y='{top + plot}' text-anchor='end'>0</text>",
        f"<line x1='{left}' y1='{top + plot}' x2='{width - 4}' y2='{top + plot}' stroke='#999'/>",
    ]
    for i, (n, color) in enumerate(zip(counts, colors, strict=True)):
        h = plot * n / peak
        body.append(
            f"<rect x='{left + i * step + 1:.1f}' y='{top + plot - h:.1f}' width='{step - 2:.1f}' "
            f"height='{h:.1f}' fill='{color}'><title>{n:,.0f}</title></rect>"
        )
    for i, label in enumerate(x_labels):
        x = left + i * (width - left - 4) / max(len(x_labels) - 1, 1)
        anchor = "end" if i == len(x_labels) - 1 and i else "middle"  # the last stays inside
        body.append(
            f"<text x='{x:.1f}' y='{height - 6}' text-anchor='{anchor}'>{html.escape(label)}</text>"
        )
    return _svg(width, height, body, title)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    color: str = "#4a6fa5",
    shown: Sequence[str] | None = None,
    width: int = 640,
) -> str:
    """Horizontal bars, one labelled row per value (largest first is the caller's order);
    ``shown`` is the text printed after each bar (default: the value)."""
    row, label_width = 22, 230
    height = row * len(values) + 6
    peak = max(max(values, default=0), 1e-12)
    span = width - label_width - 110  # room for the value after the longest bar
    texts = shown if shown is not None else [f"{v:,.0f}" for v in values]
    body = []
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        y = i * row + 3
        w = span * max(value, 0) / peak
        body += [
            f"<text x='{label_width - 8}' y='{y + 15}' text-anchor='end'>"
            f"{html.escape(_fit(label))}<title>{html.escape(label)}</title></text>",
            f"<rect x='{label_width}' y='{y + 3}' width='{w:.1f}' height='{row - 6}' fill='{color}'/>",
            f"<text x='{label_width + w + 6:.1f}' y='{y + 15}'>{html.escape(text)}</text>",
        ]
    return _svg(width, height, body, title)
