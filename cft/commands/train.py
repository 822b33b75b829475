"""``python -m cft train | runs``: launch LoRA CFT/SFT runs and manage them.

    python -m cft train --dataset cft-600 --mode both --preset cpu-quick --max-steps 40 --name exp1
    python -m cft train --dataset gen --mode all --name exp2            # cft + sft + sft-verified, equal steps
    python -m cft train --dataset gen --mode sft --preview 3            # the examples as the model sees them
    python -m cft train --dataset cft-600 --mode cft --preset gpu --set lora_r=32 --set learning_rate=5e-5 --detach
    python -m cft train --config runs/exp1-cft/config.json --name exp2      # reuse a saved config
    python -m cft train --dataset cft-50k --preset qlora-7b --base-model Qwen/Qwen2.5-Math-7B --report-to tensorboard
    python -m cft train --dataset cft-50k --preset lora-7b --base-model ... --accelerate-config fsdp  # or a yaml
    python -m cft runs                                    # list runs
    python -m cft runs --stop exp1-cft
    python -m cft runs --resume exp1-cft                  # continues from the last checkpoint, follows it
    python -m cft runs --export-merged exp1-cft --out merged/ [--push-to-hub user/model --token hf_...]

Jobs run in the background (their output goes to runs/<name>/train.log); without --detach the command follows
their progress and Ctrl-C only stops following (use ``runs --stop`` to stop a job). With several GPUs visible,
each run is launched through ``accelerate launch --num_processes N``.
"""

from __future__ import annotations

import argparse
import os
import time

from cft.errors import UserError

PAIRS = {"both": ("cft", "sft"), "all": ("cft", "sft", "sft-verified")}


def register(sub) -> None:
    p = sub.add_parser("train", help="launch a LoRA CFT run, an SFT run, or both as a pair",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", help="store dataset to train on")
    p.add_argument("--mode", choices=("cft", "sft", "sft-verified", "both", "all"), default="cft",
                   help="both: cft + sft; all: cft + sft + sft-verified (equal optimizer steps)")
    p.add_argument("--prompt-policy", choices=("system", "paper", "none"),
                   help="how a question is asked at training and evaluation (see cft/prompts.py)")
    p.add_argument("--preview", type=int, metavar="N",
                   help="build the examples, print the first N as the model sees them and the counts; do not train")
    p.add_argument("--preset", default="cpu-quick", help="a preset name (fills every hyperparameter): "
                   "cpu-quick, gpu, paper-full, lora-7b (one 80 GB card), qlora-7b (4-bit; one 24 GB card), ...")
    p.add_argument("--config", help="start from a saved config.json instead of a preset")
    p.add_argument("--name", help="run name (both: NAME-cft and NAME-sft); default run-<date>-<time>")
    p.add_argument("--base-model", help="'embedded' (default), a local model dir or a Hub id")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--epochs", type=float)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-length", type=int)
    p.add_argument("--limit", type=int, help="use at most this many samples")
    p.add_argument("--reviewed-only", action="store_true", help="train only on reviewed samples")
    p.add_argument("--accelerate-config", metavar="FILE",
                   help="an accelerate config (DDP, FSDP, DeepSpeed yaml), or a shipped one: ddp, fsdp, zero2")
    p.add_argument("--num-processes", type=int, help="training processes (default: one per visible GPU)")
    p.add_argument("--quantization", choices=("none", "4bit", "8bit"), help="4bit: QLoRA (bitsandbytes)")
    p.add_argument("--report-to", help="none, or a comma list of tensorboard, trackio, wandb, mlflow")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="any TrainConfig field; repeatable")
    p.add_argument("--detach", action="store_true", help="return once launched instead of following progress")
    p.set_defaults(handler=run_train)

    p = sub.add_parser("runs", help="list training runs; stop, resume, delete or export one")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stop", metavar="NAME")
    g.add_argument("--resume", metavar="NAME")
    g.add_argument("--delete", metavar="NAME")
    g.add_argument("--export-merged", metavar="NAME", help="merge the run's adapter into its base model")
    g.add_argument("--show", metavar="NAME", help="print a run's status and log tail")
    p.add_argument("--out", help="output directory for --export-merged")
    p.add_argument("--push-to-hub", metavar="REPO_ID")
    p.add_argument("--token", default=os.environ.get("HF_TOKEN"), help="Hub token (default $HF_TOKEN)")
    p.add_argument("--detach", action="store_true", help="with --resume: do not follow progress")
    p.set_defaults(handler=run_runs)


# flag -> TrainConfig field, for the flags a command has (train has them all; ablate some)
FLAG_FIELDS = (("base_model", "base_model"), ("max_steps", "max_steps"), ("epochs", "num_epochs"),
               ("lr", "learning_rate"), ("batch_size", "per_device_batch_size"), ("max_length", "max_length"),
               ("limit", "limit"), ("dataset", "dataset"), ("prompt_policy", "prompt_policy"),
               ("accelerate_config", "accelerate_config"), ("num_processes", "num_processes"),
               ("quantization", "quantization"), ("report_to", "report_to"))


def flag_overrides(args) -> dict:
    """The TrainConfig fields a command line sets: each ``--set FIELD=VALUE``, then the named flags given."""
    overrides: dict = {}
    for item in args.set:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected FIELD=VALUE")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value
    for flag, field in FLAG_FIELDS:
        if getattr(args, flag, None) is not None:
            overrides[field] = getattr(args, flag)
    if getattr(args, "reviewed_only", False):
        overrides["sample_filter"] = "reviewed"
    return overrides


def build_config(args):
    from cft.train import TrainConfig
    from cft.train.presets import preset_config

    overrides = flag_overrides(args)
    overrides["name"] = args.name or time.strftime("run-%m%d-%H%M%S")
    overrides["mode"] = "cft" if args.mode in PAIRS else args.mode
    if args.config:
        base = TrainConfig.from_json(args.config).to_dict()
        base.update(resume=False, pair="", budget="")
        return TrainConfig.from_dict({**base, **overrides}, where="--set").validate()
    return preset_config(args.preset, **overrides).validate()


def follow(names: list[str], poll: float = 1.0) -> int:
    """Show a progress bar per run until all have finished; returns 0 when all completed or stopped."""
    from tqdm import tqdm

    from cft.train import runs

    bars = {n: tqdm(total=None, desc=n, unit="step", dynamic_ncols=True) for n in names}
    finals: dict[str, dict] = {}
    try:
        while len(finals) < len(names):
            for name in names:
                if name in finals:
                    continue
                info = runs.get(name)
                bar = bars[name]
                if info["max_steps"] and bar.total != info["max_steps"]:
                    bar.total = info["max_steps"]
                bar.n = info["step"] or 0
                post = {}
                if info["final_loss"] is not None:
                    post["loss"] = f"{info['final_loss']:.4f}"
                if info["eval_loss"] is not None:
                    post["eval"] = f"{info['eval_loss']:.4f}"
                if info["tokens_per_s"]:
                    post["tok/s"] = f"{info['tokens_per_s']:.0f}"
                post["status"] = info["status"]
                bar.set_postfix(post, refresh=True)
                if info["status"] not in ("queued", "running"):
                    finals[name] = info
            time.sleep(poll)
    except KeyboardInterrupt:
        for bar in bars.values():
            bar.close()
        print("stopped following; the runs continue in the background (python -m cft runs --stop NAME to stop)")
        return 0
    for bar in bars.values():
        bar.close()
    code = 0
    for name, info in finals.items():
        line = f"{name}: {info['status']}"
        if info.get("adapter_path"):
            line += f", adapter {info['adapter_path']}"
        if info.get("error"):
            line += f"\n  error: {info['error']}"
            code = 1
        print(line)
    return code


def preview(config, modes: tuple[str, ...], n: int) -> int:
    """Print each mode's first ``n`` examples (prompt, ``>>> TARGET >>>``, the loss-bearing target) and counts."""
    from cft import models
    from cft.train import runs
    from cft.train.plan import make_plan, preview_text

    tokenizer = models.load_tokenizer(config.base_model)
    plans = runs.pair_plans(config, modes) if len(modes) > 1 else [make_plan(config, tokenizer=tokenizer)]
    for plan in plans:
        print(f"########## {plan.config.mode} ({plan.config.prompt_policy} prompt policy) ##########")
        print(preview_text(plan, tokenizer, n))
        print()
    return 0


def run_train(args) -> int:
    from cft.train import runs

    if not args.dataset and not args.config:
        raise UserError("--dataset is required (the store dataset to train on)")
    config = build_config(args)
    if args.preview is not None:
        return preview(config, PAIRS.get(args.mode, (args.mode,)), args.preview)
    if args.mode in PAIRS:
        started = runs.launch_pair(config, PAIRS[args.mode])
        print(f"launched {' + '.join(s['name'] for s in started)}: "
              f"{runs.pair_budget_text(runs.config_of(started[0]['name']))}")
    else:
        started = [runs.launch(config)]
        print(f"launched {started[0]['name']} (pid {started[0]['pid']}); log: {started[0]['path']}/train.log")
    if args.detach:
        return 0
    return follow([s["name"] for s in started])


def run_runs(args) -> int:
    from cft.train import runs

    if args.stop:
        print(f"Stopping `{args.stop}`: it saves a checkpoint and its adapter, then exits." if runs.stop(args.stop)
              else f"`{args.stop}` is not running.")
        return 0
    if args.resume:
        started = runs.resume(args.resume)
        print(f"Resumed `{args.resume}` from its last checkpoint (pid {started['pid']}).")
        return 0 if args.detach else follow([args.resume])
    if args.delete:
        runs.delete(args.delete)
        print(f"deleted {args.delete}")
        return 0
    if args.export_merged:
        if not args.out:
            raise UserError("--export-merged needs --out DIR")
        from cft.train.export import export_merged

        out = export_merged(args.export_merged, args.out, push_to_hub=args.push_to_hub, token=args.token)
        print(f"merged model saved to {out}" + (f" and pushed to {args.push_to_hub}" if args.push_to_hub else ""))
        return 0
    if args.show:
        info = runs.get(args.show)
        for key in ("name", "mode", "status", "base_model", "dataset", "pair", "step", "max_steps", "final_loss",
                    "eval_loss", "tokens_per_s", "adapter_path", "error"):
            print(f"{key:>12}: {info[key]}")
        print(runs.log_tail(args.show, 30))
        return 0
    rows = runs.summary_rows()
    if not rows:
        print("no runs yet: python -m cft train --dataset NAME")
        return 0
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(runs.SUMMARY_HEADERS)]
    print("  ".join(h.ljust(w) for h, w in zip(runs.SUMMARY_HEADERS, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    return 0
