"""A checkpoint counts only when it was completely written: a kill during a save never breaks resume, checkpoint
selection or the Compare tab's model list (cft.workspace.checkpoints)."""

from __future__ import annotations

import json

from cft import jobs, workspace
from cft.train import runs
from tests.helpers import fake_checkpoint_run, put_mini_dataset, tiny_config, train_steps


def test_only_complete_checkpoints_count_and_resume_drops_the_partial_ones(cft_home):
    from cft.models import list_models
    from cft.train.job import last_checkpoint

    run_dir = fake_checkpoint_run(cft_home, "r", steps=(1, 2, 3))
    ckpts = run_dir / "checkpoints"
    (ckpts / "checkpoint-4").mkdir()  # killed right after the Trainer made the directory
    partial = ckpts / "checkpoint-5"  # killed while the weights were being written
    partial.mkdir()
    (partial / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "embedded"}))
    whole = (ckpts / "checkpoint-1" / "adapter_model.safetensors").read_bytes()
    (partial / "adapter_model.safetensors").write_bytes(whole[:-3])
    legacy = ckpts / "checkpoint-6"  # no marker (an older run) and killed before trainer_state.json
    legacy.mkdir()
    (legacy / "adapter_config.json").write_text("{}")
    (legacy / "adapter_model.safetensors").write_bytes(whole)
    (legacy / "optimizer.pt").write_bytes(b"x")
    # A marked checkpoint whose file changed size afterwards (a save into it again, killed) no longer counts.
    (ckpts / "checkpoint-3" / "trainer_state.json").write_text('{"global_step": 3, "more": 1')

    assert [p.name for p in workspace.checkpoints(run_dir)] == ["checkpoint-1", "checkpoint-2"]
    labels = [m["label"] for m in list_models()]
    assert "run:r/checkpoint-2" in labels and not [x for x in labels if x.split("/")[-1] in
                                                     ("checkpoint-3", "checkpoint-4", "checkpoint-5", "checkpoint-6")]
    assert last_checkpoint(run_dir) == ckpts / "checkpoint-2"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-1", "checkpoint-2"]
    # Without a marker, an adapter saved by hand (no Trainer files) still counts when its weights are whole.
    legacy.mkdir()
    (legacy / "adapter_config.json").write_text("{}")
    (legacy / "adapter_model.safetensors").write_bytes(whole)
    assert workspace.checkpoints(run_dir)[-1] == legacy
    assert workspace.checkpoints(run_dir, resumable=True)[-1] == ckpts / "checkpoint-2"


# The real training job, with a SIGKILL injected in the middle of one checkpoint save: after the adapter is written
# and before the optimizer, scheduler and trainer state are.
KILLED_JOB = """
import os, signal, sys
from transformers import Trainer
save = Trainer._save_optimizer_and_scheduler
def save_or_die(self, output_dir):
    if self.state.global_step == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return save(self, output_dir)
Trainer._save_optimizer_and_scheduler = save_or_die
from cft.train.job import run_job
sys.exit(run_job(sys.argv[1]))
"""


def test_kill_9_during_a_checkpoint_write_then_resume_completes(tiny_model_dir):
    put_mini_dataset()
    config = tiny_config(tiny_model_dir, name="killed", max_steps=4, save_steps=1, eval_fraction=0)
    job = runs.job("killed")
    job.write_config(config.to_dict())
    jobs.spawn(["python", "-c", KILLED_JOB, str(job.config_path), "3"], job)
    status = runs.wait("killed", timeout=240)
    assert status["state"] == "failed" and "died" in status["error"], runs.log_tail("killed")
    run_dir = runs.run_dir("killed")
    partial = run_dir / "checkpoints" / "checkpoint-3"
    assert (partial / "adapter_config.json").exists() and not (partial / "trainer_state.json").exists()
    assert [p.name for p in workspace.checkpoints(run_dir)] == ["checkpoint-1", "checkpoint-2"]

    runs.resume("killed")
    status = runs.wait("killed", timeout=240)
    log = runs.log_tail("killed", 400)
    assert status["state"] == "completed" and status["global_step"] == 4, log
    assert "removing checkpoint-3" in log and "resuming from" in log and "checkpoint-2" in log
    assert train_steps("killed") == [1, 2, 3, 4]
    assert [p.name for p in workspace.checkpoints(run_dir, resumable=True)] == \
        ["checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4"]  # keep_checkpoints 0: every one stays
    assert (run_dir / "adapter" / "adapter_config.json").exists() and not (run_dir / ".adapter.partial").exists()
