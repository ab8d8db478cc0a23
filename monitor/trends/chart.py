"""Draw a trend view as a PNG: counts per bin, the window total against its baseline and control limit,
and the stored surge alerts marked. matplotlib runs headless (Agg), so this works on a server."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.dates as mdates  # noqa: E402  (after choosing the backend)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator  # noqa: E402

from monitor.trends.view import TrendView  # noqa: E402


def _x(days: Sequence[date]) -> Any:
    return mdates.date2num(list(days))  # type: ignore[no-untyped-call]


MIN_SPAN_BINS = 7  # a chart shows at least this many bins: one day of data is a bar, not a wall
LABELLED_BINS = 15  # up to this many bins, each gets its own date label (and only one)


def _time_axis(axis: Any, starts: Sequence[date], bin_days: int) -> None:
    """Dates on the x axis: one label per bin for short series (never the same date twice), at least
    ``MIN_SPAN_BINS`` bins wide, so a series of one or two days is readable."""
    if not starts:
        return
    first, last = _x([starts[0]])[0], _x([starts[-1]])[0]
    pad = max(0.6 * bin_days, (MIN_SPAN_BINS * bin_days - (last - first)) / 2)
    axis.set_xlim(first - pad, last + pad)
    if len(starts) <= LABELLED_BINS:
        axis.xaxis.set_major_locator(FixedLocator(list(_x(starts))))
    else:
        axis.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=12))  # type: ignore[no-untyped-call]
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]


def plot_trend(view: TrendView, path: Path) -> Path:
    """Write the chart to ``path`` (PNG) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_trend(view, "png"))
    return path


def render_trend(view: TrendView, image_format: str = "svg") -> bytes:
    """The chart as PNG or SVG bytes (the console shows the SVG)."""
    figure = draw_trend(view)
    try:
        out = io.BytesIO()
        figure.savefig(out, format=image_format)
    finally:
        plt.close(figure)
    return out.getvalue()


def draw_trend(view: TrendView) -> Figure:
    """The chart as a matplotlib figure (the caller closes it)."""
    spec = view.spec
    unit = "day" if spec.bin == "day" else "week"
    days = _x([row.start for row in view.rows])
    figure, axis = plt.subplots(figsize=(11, 5.5), dpi=110)
    try:
        axis.bar(days, [row.count for row in view.rows], width=0.8 if unit == "day" else 5.6,
                 color="#9db4c8", label=f"per {unit}")
        axis.plot(days, [row.window for row in view.rows], color="#1f4e79", linewidth=2,
                  label=f"{spec.window_bins}-{unit} total")
        judged = [(row.start, row.expected, float(row.limit)) for row in view.rows
                  if row.expected is not None and row.limit is not None]
        if judged:
            judged_days = _x([d for d, _, _ in judged])
            axis.plot(judged_days, [e for _, e, _ in judged], color="#555555", linestyle="-",
                      linewidth=1.2, label=f"expected from the {spec.baseline_bins}-{unit} baseline")
            axis.plot(judged_days, [lim for _, _, lim in judged], color="#c0392b", linestyle="--",
                      linewidth=1.2, label=f"alert limit (alpha {spec.thresholds.alpha:g})")
        alerts = [row for row in view.rows if row.alert]
        if alerts:
            alert_days = _x([row.start for row in alerts])
            axis.scatter(alert_days, [row.window for row in alerts], marker="v", s=120,
                         color="#c0392b", zorder=5, label="surge alert")
            for day, row in zip(alert_days, alerts, strict=True):
                axis.annotate(f"{row.window:g}", (day, row.window), textcoords="offset points",
                              xytext=(0, 10), ha="center", color="#c0392b", fontsize=9)
        scope = "" if spec.scope == "country" else f" in {view.scope_name} ({spec.scope})"
        axis.set_title(f"{spec.title.capitalize()}{scope}: counts against the baseline")
        axis.set_ylabel("count")
        axis.set_ylim(bottom=0)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks on small data
        axis.grid(axis="y", alpha=0.3)
        _time_axis(axis, [row.start for row in view.rows], 1 if unit == "day" else 7)
        figure.autofmt_xdate()
        axis.legend(loc="upper left", fontsize=9)
        figure.tight_layout()
    except Exception:
        plt.close(figure)
        raise
    return figure
