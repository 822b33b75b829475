"""The Train tab driven through its API (gradio_client) against the real app: launch, watch metrics, stop."""

from __future__ import annotations


from cft.train import runs
from pages.train.form import FORM_FIELDS, PRESET_FIELDS
from tests.helpers import launched_app, put_mini_dataset, tiny_config, train_steps, wait_for


def _form_args(config) -> list:
    values = config.to_dict()
    values["target_modules"] = ", ".join(values["target_modules"])
    return [values[f] for f in FORM_FIELDS]


def test_train_tab_launches_shows_metrics_and_stops_a_run(tiny_model_dir):
    from gradio_client import Client

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="ui-run", max_steps=400, save_steps=1000, eval_fraction=0)
    with launched_app() as url:
        client = Client(url, verbose=False)
        preset_values = client.predict("gpu", api_name="/preset_values")
        assert preset_values[PRESET_FIELDS.index("max_length")] == 2048

        message = client.predict("cpu-quick", *_form_args(config), api_name="/launch_cft")
        assert "ui-run" in message and "Launched" in message

        def metrics_in_the_tab():
            table, _choices, plot, _current, log = client.predict([], 0.6, False, "ui-run", api_name="/refresh_runs")
            rows = {row[0]: row for row in table["data"]}
            if "ui-run" in rows and rows["ui-run"][2] == "running" and "[cft] step" in log and plot:
                return rows["ui-run"], plot
            return None

        row, plot = wait_for(metrics_in_the_tab, timeout=180, poll=1, what="metrics shown in the Train tab")
        assert row[1] == "cft" and row[3].endswith("/400")
        assert "ui-run (cft) train" in str(plot)

        message = client.predict("ui-run", api_name="/stop_run")
        assert "Stopping" in message
        status = runs.wait("ui-run", timeout=300)  # the stop saves the adapter; slow under a loaded CI
        assert status["state"] == "stopped"
        assert train_steps("ui-run")
        table = client.predict([], 0.6, False, "ui-run", api_name="/refresh_runs")[0]
        assert {row[0]: row[2] for row in table["data"]}["ui-run"] == "stopped"
        # A second launch with the same name is refused with a readable error, not a crash.
        try:
            client.predict("cpu-quick", *_form_args(config), api_name="/launch_cft")
        except Exception as exc:  # gradio_client raises AppError carrying the gr.Error message
            assert "already exists" in str(exc)
        else:
            raise AssertionError("launching an existing run name should fail")


def test_train_tab_previews_examples_steps_and_warnings_before_launch(tiny_model_dir, cft_home):
    from gradio_client import Client

    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="pv", max_steps=12)
    with launched_app() as url:
        client = Client(url, verbose=False)
        text = client.predict("all", "cpu-quick", *_form_args(config), api_name="/preview_training")
        for mode in ("cft", "sft", "sft-verified"):
            assert f"**{mode}** (`pv-{mode}`)" in text
        assert text.count("**12 optimizer steps**") == 3
        assert "under 50" in text and ">>> TARGET >>>" in text
        assert "only 2 sft training example(s)" in text  # the mini set has two questions with a reference
        assert not (cft_home / "runs" / "pv-cft").exists()  # a preview launches nothing
        message = client.predict("sft", "cpu-quick", *_form_args(config), api_name="/launch_training")
        assert "Launched `pv`" in message and "**12 optimizer steps**" in message and "⚠️" in message
        runs.wait("pv", timeout=180)


def test_a_pair_preview_says_which_side_cannot_train(tiny_model_dir, cft_home):
    # One-Shot-style data: critiques but no reference solution, so SFT has nothing to imitate. The preview shows
    # the CFT side and names the SFT side's problem; the launch refuses the pair with the same reason.
    import dataclasses

    import pytest

    from cft.data.store import Store
    from cft.errors import UserError
    from pages.train.handlers import launch_from_form, preview_from_form
    from tests.helpers import mini_samples

    samples = [dataclasses.replace(s, reference_solution="", reference_answer="") for s in mini_samples("noref")]
    Store().add_samples("noref", samples)
    config = tiny_config(tiny_model_dir, name="nr", dataset="noref", max_steps=4)
    text = preview_from_form("both", _form_args(config), "cpu-quick")
    assert "**cft** (`nr-cft`)" in text and "**4 optimizer steps**" in text
    assert "**sft**: ⚠️ cannot train" in text and "no usable training examples" in text
    with pytest.raises(UserError, match="no usable training examples"):
        launch_from_form("both", _form_args(config), "cpu-quick")
    assert not (cft_home / "runs" / "nr-cft").exists()
