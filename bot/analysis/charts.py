"""PNG charts for the dissent map, sized for a Discord embed (about 800 × 500 px).

Figures are built with matplotlib's object API on the Agg canvas — never `pyplot` —
so rendering needs no display, holds no global figure state, and is safe to call from
the bot's worker threads.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.analysis.opinions import DissentAnalysis

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100
"""800 × 500 px: Discord shows attachments up to roughly this size without scaling text away."""
GROUP_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")
LEFT_OUT_COLOUR = "#b0b0b0"
MAX_STATEMENT_LABELS = 15
"""Beyond this many labels the map is unreadable; the most consensual and divisive win."""

CONSENT_SCALE = (
    ("endorse", "Endorse", "#1a9850"),
    ("reservations", "Agree with reservations", "#91cf60"),
    ("stand_aside", "Stand aside", "#fee08b"),
    ("block", "Block", "#d73027"),
)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def _group_name(group_id: int) -> str:
    return f"Group {chr(ord('A') + group_id)}"


def opinion_map_png(result: DissentAnalysis) -> bytes:
    """Participants in the PCA plane coloured by group; statements as labelled points.

    Left-out participants are drawn grey so the map never hides who was not counted.
    """
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    ax = fig.add_subplot()
    left = [result.participant_xy[p] for p in result.left_out if p in result.participant_xy]
    if left:
        # Unpacked by name, not `*zip(...)`: a starred call could fill `s` and `c` positionally.
        xs, ys = zip(*left, strict=True)
        ax.scatter(xs, ys, s=14, c=LEFT_OUT_COLOUR, label="not clustered")
    for group in result.groups:
        pts = [result.participant_xy[p] for p in group.members]
        xs, ys = zip(*pts, strict=True)
        ax.scatter(
            xs,
            ys,
            s=22,
            c=GROUP_COLOURS[group.group_id % len(GROUP_COLOURS)],
            label=f"{_group_name(group.group_id)} ({len(pts)})",
            alpha=0.85,
        )
    labelled = list(dict.fromkeys([*result.consensus[:7], *result.divisive[:8]]))
    for sid in list(result.statement_xy)[: MAX_STATEMENT_LABELS - len(labelled)]:
        if sid not in labelled:
            labelled.append(sid)
    for sid in labelled[:MAX_STATEMENT_LABELS]:
        x, y = result.statement_xy[sid]
        ax.scatter([x], [y], marker="D", s=28, c="black")
        ax.annotate(f"#{sid}", (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10)
    title = "Opinion map" if result.reason is None else f"Opinion map — {result.reason}"
    ax.set_title(textwrap.shorten(title, 80), fontsize=13)
    ax.set_xlabel("first principal component", fontsize=10)
    ax.set_ylabel("second principal component", fontsize=10)
    ax.grid(alpha=0.3)
    if left or result.groups:
        ax.legend(loc="best", fontsize=10, framealpha=0.8)
    fig.tight_layout()
    return _png(fig)


def consent_chart_png(counts: dict[str, int], ai_stances: list[tuple[str, str]]) -> bytes:
    """Bar chart of the human consent responses, with AI stances listed apart.

    `counts` maps `endorse`, `reservations`, `stand_aside` and `block` to numbers of
    humans; `ai_stances` is (AI participant label, stance) pairs. AI stances are drawn in
    a separate panel labelled "AI participant · not counted" and never enter the bars.
    """
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    if ai_stances:
        grid = fig.add_gridspec(1, 2, width_ratios=(3, 1.4))
        ax = fig.add_subplot(grid[0, 0])
        ai_ax = fig.add_subplot(grid[0, 1])
    else:
        ax = fig.add_subplot()
        ai_ax = None
    labels = [label for _, label, _ in CONSENT_SCALE]
    values = [int(counts.get(key, 0)) for key, _, _ in CONSENT_SCALE]
    bars = ax.barh(labels, values, color=[c for _, _, c in CONSENT_SCALE])
    ax.invert_yaxis()
    ax.bar_label(bars, padding=3, fontsize=11)
    ax.set_xlim(0, max([*values, 1]) * 1.2)
    ax.set_title(f"Consent — {sum(values)} human response(s)", fontsize=13)
    ax.tick_params(labelsize=11)
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one; a base `Locator` takes no params
        locator.set_params(integer=True)
    if ai_ax is not None:
        ai_ax.set_axis_off()
        ai_ax.set_title("AI participant · not counted", fontsize=11, color="#555555")
        lines = [f"{textwrap.shorten(name, 22)}: {stance.replace('_', ' ')}" for name, stance in ai_stances]
        ai_ax.text(
            0.0,
            0.95,
            "\n".join(lines),
            va="top",
            ha="left",
            fontsize=10,
            transform=ai_ax.transAxes,
            color="#333333",
            bbox={"boxstyle": "round", "facecolor": "#f0f0f0", "edgecolor": "#999999"},
        )
    fig.tight_layout()
    return _png(fig)
