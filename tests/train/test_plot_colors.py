"""One colour per mode in every loss plot: a pair drawn alone or beside another keeps CFT blue and SFT red."""

from __future__ import annotations

from cft.train import plots


def _colors(runs: list[dict]) -> dict[str, str]:
    fig = plots.loss_figure(runs, smoothing=0)
    return {t.name.split(" (")[0]: t.line.color for t in fig.data}


def _run(name: str, mode: str) -> dict:
    return {"name": name, "mode": mode, "metrics": [{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}]}


def test_a_mode_keeps_its_colour_whatever_the_order_and_the_other_runs():
    alone = _colors([_run("p-sft", "sft"), _run("p-cft", "cft")])
    beside = _colors([_run("q-cft", "cft"), _run("q-sft", "sft"), _run("p-cft", "cft"), _run("p-sft", "sft"),
                      _run("p-sft-verified", "sft-verified")])
    assert alone["p-cft"] == beside["p-cft"] == beside["q-cft"] == plots.MODE_COLORS["cft"]
    assert alone["p-sft"] == beside["p-sft"] == beside["q-sft"] == plots.MODE_COLORS["sft"]
    assert beside["p-sft-verified"] == plots.MODE_COLORS["sft-verified"]
    assert len(set(plots.MODE_COLORS.values())) == len(plots.MODE_COLORS)
    # Two runs of one mode differ by their line style.
    fig = plots.loss_figure([_run("q-cft", "cft"), _run("p-cft", "cft")], smoothing=0)
    assert fig.data[0].line.dash != fig.data[1].line.dash
