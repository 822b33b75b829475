"""Loss curves for the Train tab: several runs overlaid, CFT against SFT, smoothing and log scale (plotly, no gradio)."""

from __future__ import annotations

import math
from typing import Iterable

# One colour per mode, the same in every plot and every pair (CFT blue, SFT red, ...), so a colour never swaps
# between pairs; each mode has its line style too (CFT solid, SFT dashed), and runs of one mode differ by style.
# A mode without a colour takes one of the others.
MODE_COLORS = {"base": "#6b7280", "cft": "#2563eb", "sft": "#dc2626", "sft-verified": "#16a34a"}
OTHER_COLORS = ["#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"]
DASHES = ["solid", "dash", "dashdot", "longdash", "longdashdot"]
MODE_DASH = {"cft": 0, "sft": 1, "sft-verified": 2, "base": 3}  # index into DASHES of a mode's first run


def mode_color(mode: str | None, fallback: int = 0) -> str:
    """The colour of ``mode`` in every plot."""
    return MODE_COLORS.get(mode or "", OTHER_COLORS[fallback % len(OTHER_COLORS)])


def ema(values: Iterable[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0."""
    weight = min(max(float(weight), 0.0), 0.999)
    out, last, n = [], 0.0, 0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**n))
    return out


def loss_figure(runs: list[dict], *, smoothing: float = 0.6, log_y: bool = False, title: str = "Loss"):
    """``runs``: [{name, mode, metrics}] with metrics as read from metrics.jsonl.

    Each run draws its raw train loss faintly, the smoothed train loss boldly, and its eval loss as markers.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    seen: dict[str, int] = {}  # runs drawn so far per mode: the nth run of a mode takes the nth line style
    for i, run in enumerate(runs):
        mode = run.get("mode", "")
        color = mode_color(mode, i)
        # CFT solid, SFT dashed (readable without colour too); a mode's later runs shift to the next styles.
        dash = DASHES[(MODE_DASH.get(mode, 0) + seen.get(mode, 0)) % len(DASHES)]
        seen[mode] = seen.get(mode, 0) + 1
        label = f"{run['name']} ({run.get('mode', '?')})"
        train = [m for m in run.get("metrics", []) if m.get("loss") is not None]
        evals = [m for m in run.get("metrics", []) if m.get("eval_loss") is not None]
        if train:
            steps = [m["step"] for m in train]
            losses = [m["loss"] for m in train]
            if smoothing > 0:
                fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=f"{label} raw", legendgroup=run["name"],
                                         showlegend=False, line=dict(color=color, dash=dash, width=1), opacity=0.3,
                                         hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=steps, y=ema(losses, smoothing) if smoothing > 0 else losses, mode="lines",
                                     name=f"{label} train", legendgroup=run["name"],
                                     line=dict(color=color, dash=dash, width=2.5)))
        if evals:
            fig.add_trace(go.Scatter(x=[m["step"] for m in evals], y=[m["eval_loss"] for m in evals],
                                     mode="lines+markers", name=f"{label} eval", legendgroup=run["name"],
                                     line=dict(color=color, dash="dot", width=1.5),
                                     marker=dict(symbol="diamond" if run.get("mode") == "sft" else "circle", size=8)))
    fig.update_layout(
        title=title, xaxis_title="step", yaxis_title="loss", template="plotly_white", height=420,
        margin=dict(l=50, r=20, t=50, b=40), legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        uirevision="loss",  # keep the user's zoom across timer refreshes
    )
    fig.update_yaxes(type="log" if log_y else "linear")
    if not runs or not fig.data:
        fig.add_annotation(text="no metrics yet: launch a run or select runs to compare", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig
