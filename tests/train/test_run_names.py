"""A default run name is read at each call, never frozen: it avoids every run and every pair's runs."""

from __future__ import annotations

from cft.train import runs


def test_fresh_name_avoids_runs_and_pairs(cft_home):
    first = runs.fresh_name()
    assert first.startswith("run-") and not runs.name_taken(first)
    (cft_home / "runs" / f"{first}-cft").mkdir(parents=True)
    (cft_home / "runs" / f"{first}-cft" / "config.json").write_text("{}")
    assert runs.name_taken(first)
    second = runs.fresh_name()
    assert second != first and not runs.name_taken(second)
    assert not runs.name_taken("../escape")
