"""The Train tab's ablation accordion through its API (gradio_client) against the real app: a verdict-only pair
launched from the form, then the Report button evaluating both arms and showing the paired statistics."""

from __future__ import annotations

import pytest

from cft.train import runs
from pages.train.form import FORM_FIELDS
from tests.helpers import launched_app, put_mini_dataset, sevens_benchmark, tiny_config, wait_for


def _form_args(config) -> list:
    values = config.to_dict()
    values["target_modules"] = ", ".join(values["target_modules"])
    return [values[f] for f in FORM_FIELDS]


def test_ablation_pair_launches_from_the_train_tab_and_its_report_carries_the_paired_statistics(
        tiny_model_dir, cft_home, tmp_path):
    from gradio_client import Client

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="ignored", max_steps=2, eval_fraction=0, save_steps=100)
    bench = sevens_benchmark(tmp_path / "sevens.jsonl", n=3)
    with launched_app() as url:
        client = Client(url, verbose=False)
        message = client.predict("verdict-only", 0.5, 1, "vo", "cpu-quick", *_form_args(config),
                                 api_name="/launch_ablation")
        assert "Launched ablation vo (verdict-only" in message and "both for 2 steps" in message
        assert "Press **Report**" in message
        trained = client.predict("vo", str(bench), 3, 2, api_name="/ablation_report")
        assert "has not finished training" in trained or "evaluating both arms" in trained
        for run in ("vo-full", "vo-verdict"):
            assert runs.wait(run, timeout=180)["state"] == "completed"
        verdict_cfg = runs.config_of("vo-verdict")
        assert (verdict_cfg.critique_transform, verdict_cfg.sample_require) == ("verdict-only", "verdict")

        def reported():
            text = client.predict("vo", str(bench), 3, 2, api_name="/ablation_report")
            return text if "## Paired statistics" in text else None

        text = wait_for(reported, timeout=240, poll=3, what="both arms evaluated and compared")
        assert "baseline:  vo-full-sevens-3" in text and "candidate: vo-verdict-sevens-3" in text
        assert "shared problems: 3" in text and "exact McNemar p = " in text and "paired bootstrap 95% CI" in text
        assert (cft_home / "ablations" / "vo.md").read_text().strip() == text.strip()

        # Bad input is a readable error, never a traceback: a human ablation on data nobody corrected.
        with pytest.raises(Exception, match="no critique an annotator corrected") as caught:
            client.predict("human", 0.5, 1, "hu", "cpu-quick", *_form_args(config), api_name="/launch_ablation")
        assert "Traceback" not in str(caught.value)
        assert not (cft_home / "runs" / "hu-teacher").exists()


def test_loading_an_ablation_arms_config_says_its_critique_settings_are_not_in_the_form(cft_home):
    from cft.train import TrainConfig
    from pages.train.handlers import load_config

    for name, transform in (("arm-verdict", "verdict-only"), ("plain", "full")):
        runs.job(name).write_config(TrainConfig(name=name, dataset="mini", critique_transform=transform).to_dict())
    assert "It is an ablation arm" in load_config("arm-verdict")[-1]
    assert "ablation" not in load_config("plain")[-1]
