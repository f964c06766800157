"""Charts for the management pages: inline SVG drawn by matplotlib, no JavaScript, no CDN.

Readable without colour alone: every bar series has its own hatch pattern, every line series its own
marker and line style, and each value is written next to its bar or point. Text stays text
(``svg.fonttype = "none"``) so the browser sets the Chinese in its own fonts and screen readers and
page search see it. Each chart carries ``role="img"``, an ``aria-label`` summarising it and a
``<title>``; pages still show the same numbers as a table.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

HATCHES = ("//", "..", "xx", "\\\\", "oo", "--", "++", "**")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")
# Dark enough for text contrast on white (WCAG AA) and distinguishable for common colour blindness.
COLOURS = ("#1f4e79", "#b35806", "#2d6a4f", "#6a3d9a", "#7f3b08", "#35556b", "#8c2d04", "#4d4d4d")

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "onewindow",  # deterministic ids: identical input, identical bytes
    "font.family": ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
    "font.size": 10,
    "hatch.linewidth": 1.0,
}

# The family list is written into the SVG for the browser; matplotlib only measures with whichever
# it has, so its "family not found" warnings for the others are noise.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

Series = tuple[tuple[str, tuple[float, ...]], ...]


def _fmt(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.0f}%"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def _summary(title: str, categories: tuple[str, ...], series: Series, percent: bool) -> str:
    parts = []
    for name, values in series:
        pairs = "，".join(f"{c} {_fmt(v, percent)}" for c, v in zip(categories, values))
        parts.append(f"{name}：{pairs}")
    return f"{title}。" + "；".join(parts)


def _figure(n_categories: int) -> Figure:
    width = max(6.0, min(12.0, 1.0 + 0.9 * n_categories))
    return Figure(figsize=(width, 3.4), dpi=72, layout="constrained")


def _finish(fig: Figure, title: str, summary: str) -> Markup:
    buf = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buf)
    svg = buf.getvalue()
    # Drop the XML prolog, doctype and comments so the SVG can sit inline, several on one page.
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    # matplotlib's metadata block names its own URLs (creativecommons, purl) — not needed inline.
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    # The console's Content-Security-Policy (style-src 'self') ignores style attributes and <style>
    # elements: every declaration becomes the equivalent SVG presentation attribute instead.
    svg = re.sub(r"\s*<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r'style="([^"]*)"', _presentation, svg)
    # Ids (clip paths, hatch patterns) must be unique per page: prefix them with a per-chart salt.
    salt = "c" + hashlib.sha1(summary.encode()).hexdigest()[:8] + "-"
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{salt}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{salt}{m.group(1)})", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{salt}{m.group(1)}"', svg)
    # Accessible name and title; the fixed width/height in pt become a scalable, responsive image.
    svg = re.sub(r'\swidth="[^"]+"\sheight="[^"]+"', "", svg, count=1)
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label={quoteattr(summary)} class="chart" '
        'preserveAspectRatio="xMidYMid meet" stroke-linejoin="round" stroke-linecap="butt" ',
        1,
    )
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<title>{escape(title)}</title>", svg, count=1)
    return Markup(svg.strip())


def _presentation(m: re.Match[str]) -> str:
    decls = [d.split(":", 1) for d in m.group(1).split(";") if ":" in d]
    return " ".join(f"{k.strip()}={quoteattr(v.strip())}" for k, v in decls)


def _axes_common(ax, title: str, categories: tuple[str, ...], percent: bool) -> None:
    ax.set_title(title, loc="left", fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if percent:
        ax.yaxis.set_major_formatter(lambda v, _pos: _fmt(v, True))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks


def _y_range(ax, series: Series, percent: bool) -> None:
    """Counts and rates start at zero; a chart of zeros keeps a sensible axis (not -0.06..0.06),
    and a rate's axis ends at 100 % (with room for the labels), not around the one value shown."""
    values = [v for _, vs in series for v in vs if v == v]  # NaN: a month without cases
    if not values or min(values) < 0:
        return
    if percent:
        ax.set_ylim(0, max(1.0, max(values)) * 1.12)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    else:
        ax.set_ylim(0, max(values) * 1.18 if max(values) > 0 else 1)


@lru_cache(maxsize=256)
def _bar(title: str, categories: tuple[str, ...], series: Series, percent: bool) -> Markup:
    fig = _figure(len(categories))
    ax = fig.add_subplot()
    _axes_common(ax, title, categories, percent)
    n = max(1, len(series))
    width = 0.8 / n
    xs = range(len(categories))
    for i, (name, values) in enumerate(series):
        offs = [x - 0.4 + width * (i + 0.5) for x in xs]
        bars = ax.bar(offs, values, width, label=name, facecolor="white",
                      edgecolor=COLOURS[i % len(COLOURS)], hatch=HATCHES[i % len(HATCHES)], linewidth=1.2)
        ax.bar_label(bars, labels=[_fmt(v, percent) for v in values], padding=2, fontsize=9)
    ax.set_xticks(list(xs), list(categories))
    ax.margins(y=0.15)
    _y_range(ax, series, percent)
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, handleheight=1.6, handlelength=2.4)
    return _finish(fig, title, _summary(title, categories, series, percent))


@lru_cache(maxsize=256)
def _line(title: str, categories: tuple[str, ...], series: Series, percent: bool) -> Markup:
    fig = _figure(len(categories))
    ax = fig.add_subplot()
    _axes_common(ax, title, categories, percent)
    xs = list(range(len(categories)))
    for i, (name, values) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(xs[: len(values)], values, label=name, color=colour, marker=MARKERS[i % len(MARKERS)],
                linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=1.6, markersize=6)
        for x, v in zip(xs, values):
            ax.annotate(_fmt(v, percent), (x, v), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=9, color=colour)
    ax.set_xticks(xs, list(categories))
    ax.margins(y=0.18)
    _y_range(ax, series, percent)
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, handlelength=3)
    return _finish(fig, title, _summary(title, categories, series, percent))


def _freeze(categories: list[str], series: dict[str, list[float]]) -> tuple[tuple[str, ...], Series]:
    cats = tuple(str(c) for c in categories)
    ser = tuple((str(k), tuple(float(v) for v in vs)) for k, vs in series.items())
    for name, values in ser:
        if len(values) != len(cats):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(cats)} categories")
    return cats, ser


def bar_chart(title: str, categories: list[str], series: dict[str, list[float]], *, percent: bool = False) -> Markup:
    """Grouped bars, one hatch pattern per series, each bar labelled with its value.
    ``percent``: values are fractions (0.93), shown as percentages (93%)."""
    cats, ser = _freeze(categories, series)
    with rc_context(RC):
        return _bar(title, cats, ser, percent)


def line_chart(title: str, categories: list[str], series: dict[str, list[float]], *, percent: bool = False) -> Markup:
    """Lines, one marker and line style per series, each point labelled with its value."""
    cats, ser = _freeze(categories, series)
    with rc_context(RC):
        return _line(title, cats, ser, percent)
