"""The dashboard's charts: matplotlib figures rendered to inline SVG strings.

SVG inside a ``widgets.HTML`` needs no interactive backend and no image files, renders in
JupyterLab, Notebook, VS Code and Voila alike, and keeps its text as text (``svg.fonttype:
none``). matplotlib is imported on first use; figures are built with the object API (never
pyplot), so nothing touches a global figure manager from the dashboard's timer thread.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._snapshot import Snapshot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["calls_chart", "cost_chart", "latency_chart", "to_svg"]

_SIZE = (4.2, 2.1)
_RC: Any = {"svg.fonttype": "none", "svg.hashsalt": "integkit", "font.size": 8}
_BLUE, _RED, _GREY = "#3b75af", "#c0392b", "#888888"


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=96, layout="constrained")
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def to_svg(fig: Figure) -> str:
    """``fig`` as an inline ``<svg>`` element that scales to its container's width."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  r'<svg\1 width="100%" style="max-width:420px;height:auto"', text, count=1)


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color=_GREY, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _chart(title: str, empty: str | None, draw: Callable[[Axes], None]) -> str:
    """One titled chart as SVG: ``draw`` fills the axes, unless ``empty`` says why there is
    nothing to show yet."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ax.set_title(title, loc="left")
        if empty is not None:
            _empty(ax, empty)
        else:
            draw(ax)
        return to_svg(fig)


def calls_chart(snap: Snapshot) -> str:
    """Calls per minute over time, with the 429s among them in red."""

    def draw(ax: Axes) -> None:
        scale = 60.0 / snap.bucket_seconds
        unit, per = ("s", 1.0) if snap.taken_at - snap.timeline[0][0] <= 180 else ("min", 60.0)
        ago = [(t - snap.taken_at) / per for t, _, _ in snap.timeline]
        width = snap.bucket_seconds / per * 0.9
        ax.bar(ago, [c * scale for _, c, _ in snap.timeline], width=width, align="edge",
               color=_BLUE, label="calls")
        ax.bar(ago, [r * scale for _, _, r in snap.timeline], width=width, align="edge",
               color=_RED, label="429")
        ax.legend(loc="upper left", frameon=False)
        clock = dt.datetime.fromtimestamp(snap.taken_at, dt.UTC)
        ax.set_xlabel(f"{unit} before {clock:%H:%M:%S} UTC")
        ax.set_ylabel("calls/min")

    return _chart(f"{snap.service}: calls per minute",
                  None if snap.timeline else "no calls yet", draw)


def latency_chart(snap: Snapshot) -> str:
    """The distribution of real attempts' latency, with p50 and p95 marked."""

    def draw(ax: Axes) -> None:
        ms = [(lo * 1e3, hi * 1e3, n) for lo, hi, n in snap.latency_histogram]
        ax.bar([lo for lo, _, _ in ms], [n for _, _, n in ms],
               width=[(hi - lo) * 0.9 for lo, hi, _ in ms], align="edge", color=_BLUE)
        for value, name in ((snap.latency_p50, "p50"), (snap.latency_p95, "p95")):
            if value is not None:
                ax.axvline(value * 1e3, color=_RED, linestyle="--", linewidth=1)
                ax.annotate(name, (value * 1e3, 1), xycoords=("data", "axes fraction"),
                            ha="left", va="top", color=_RED)
        ax.set_xlabel("ms")
        ax.set_ylabel("attempts")

    return _chart(f"{snap.service}: latency",
                  None if snap.latency_histogram else "no attempts yet", draw)


def cost_chart(snaps: Sequence[Snapshot], *, top: int = 8) -> str:
    """Cost so far by connector and endpoint (the ledger's priced rows), largest first."""
    bars: list[tuple[str, float]] = []
    currency: Any = None
    for snap in snaps:
        currency = currency or snap.currency
        bars.extend((f"{snap.service} {e.endpoint}", e.cost) for e in snap.endpoints)
    bars = sorted(bars, key=lambda b: -b[1])[:top]

    def draw(ax: Axes) -> None:
        labels = [name if len(name) <= 32 else name[:31] + "…" for name, _ in bars]
        ax.barh(labels[::-1], [cost for _, cost in bars][::-1], color=_BLUE)
        ax.set_xlabel(currency or "")

    return _chart(f"cost by connector and endpoint ({currency or 'cost'})",
                  None if any(cost for _, cost in bars) else
                  "nothing billed yet (free or unpriced calls)", draw)
