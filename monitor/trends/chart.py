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

from monitor.trends.view import TrendView  # noqa: E402


def _x(days: Sequence[date]) -> Any:
    return mdates.date2num(list(days))  # type: ignore[no-untyped-call]


def plot_trend(view: TrendView, path: Path) -> Path:
    """Write the chart to ``path`` (PNG) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_trend(view, "png"))
    return path


def render_trend(view: TrendView, image_format: str = "svg") -> bytes:
    """The chart as PNG or SVG bytes (the console shows the SVG)."""
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
        axis.grid(axis="y", alpha=0.3)
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
        figure.autofmt_xdate()
        axis.legend(loc="upper left", fontsize=9)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format=image_format)
    finally:
        plt.close(figure)
    return out.getvalue()
