"""What does lorawiz cost over the trl script a user would write by hand?

The same QLoRA SFT run (demo model, demo-sft data, same steps, batch, length, LoRA config, seed)
is run through `lorawiz train SESSION` (the CLI, foreground: parent + training child + events)
and through a plain trl script, alternating, `--reps` times each. Printed: the median training
speed of each (steps/s over steps 2..N, so start-up is not counted), their ratio (goal >= 0.95),
and the median time from starting the command to the first logged step.

    .venv/bin/python bench/train_overhead.py [--steps 30] [--reps 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/inspect.py would shadow the standard library's `inspect` (Python puts this script's
# folder first on sys.path), breaking torch and transformers imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

PLAIN_SCRIPT = r"""
import json, sys, time
T0 = float(sys.argv[1])
cfg = json.loads(sys.argv[2])
import torch
from datasets import load_dataset
from peft import LoraConfig, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
from trl import SFTConfig, SFTTrainer

class Clock(TrainerCallback):  # measurement only: when each step ended
    def on_step_end(self, args, state, control, **kwargs):
        print(json.dumps({"step": state.global_step, "time": time.time()}), flush=True)

tokenizer = AutoTokenizer.from_pretrained(cfg["model"])
model = AutoModelForCausalLM.from_pretrained(
    cfg["model"],
    dtype=torch.float32,
    device_map={"": "cpu"},
    quantization_config=BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
    ),
)
model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg["gc"])

ALPACA = ("Below is an instruction that describes a task, paired with an input that provides "
          "further context. Write a response that appropriately completes the request.\n\n"
          "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that "
                   "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
                   "### Response:\n")

def to_prompt_completion(row):  # the Stanford Alpaca prompt
    template = ALPACA if row["input"].strip() else ALPACA_NO_INPUT
    return {"prompt": template.format(**row), "completion": row["output"]}

data = load_dataset("json", data_files=cfg["data"], split="train")
data = data.map(to_prompt_completion, remove_columns=data.column_names)
if cfg.get("check"):
    print(json.dumps({"rows": data.to_list()}), flush=True)
    sys.exit(0)
args = SFTConfig(
    output_dir=cfg["out"], max_steps=cfg["steps"], per_device_train_batch_size=cfg["batch"],
    max_length=cfg["max_length"], learning_rate=cfg["lr"], logging_steps=1, save_strategy="no",
    report_to="none", use_cpu=True, seed=cfg["seed"], gradient_checkpointing=cfg["gc"],
    warmup_steps=cfg["warmup"], disable_tqdm=True,
)
peft_config = LoraConfig(r=cfg["r"], lora_alpha=cfg["alpha"], lora_dropout=cfg["dropout"],
                         target_modules="all-linear", bias="none", task_type="CAUSAL_LM")
trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                     peft_config=peft_config, callbacks=[Clock()])
trainer.train()
"""


def _speed(times: list[float]) -> float:
    """Steps per second over steps 2..N (the first step carries one-off warm-up)."""
    return (len(times) - 2) / (times[-1] - times[1]) if len(times) > 2 else float("nan")


def run_lorawiz(session_file: Path, work: Path, env: dict[str, str]) -> dict[str, float]:
    run_dir = work / f"run-{time.time_ns()}"
    start = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lorawiz.cli",
            "train",
            str(session_file),
            "--run-dir",
            str(run_dir),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    times = [e["time"] for e in events if e["event"] == "log"]
    return {"speed": _speed(times), "first_step": times[0] - start, "total": time.time() - start}


def run_plain(config: dict[str, object], env: dict[str, str]) -> dict[str, float]:
    start = time.time()
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_SCRIPT, repr(start), json.dumps(config)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    times = [json.loads(line)["time"] for line in result.stdout.splitlines() if '"step"' in line]
    return {"speed": _speed(times), "first_step": times[0] - start, "total": time.time() - start}


def _check_same_data(config: dict[str, object], env: dict[str, str]) -> None:
    """The plain script's own data mapping yields exactly lorawiz's training rows."""
    from lorawiz.core.data import training_dataset

    result = subprocess.run(
        [sys.executable, "-c", PLAIN_SCRIPT, "0", json.dumps({**config, "check": True})],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    plain = json.loads(result.stdout.strip().splitlines()[-1])["rows"]
    ours = training_dataset("demo-sft", "sft").to_list()
    if plain != ours:
        raise SystemExit("the plain script's data differs from lorawiz's; fix the benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS for both runs (default: the count lorawiz picks on this machine)",
    )
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lorawiz-bench-"))
    env = {
        **os.environ,
        "LORAWIZ_HOME": str(work / "home"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    # Both sides compute with the same number of threads: lorawiz's own choice on this machine
    # (see train_model.cpu_threads), given to the plain script too, unless --threads says.
    from lorawiz.core.devices import pick_device
    from lorawiz.core.train_model import cpu_threads

    threads = options.threads or cpu_threads(pick_device("cpu"))
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    os.environ.update(env)
    from lorawiz.core.demo import demo_dataset_path, demo_session, ensure_demo_model

    model = ensure_demo_model()
    base = demo_session("sft").to_dict()
    base["train"].update(
        device="cpu",
        max_steps=options.steps,
        batch_size=options.batch,
        max_length=options.max_length,
        save_steps=10 * options.steps,  # no checkpoint inside the timed steps, as in the script
        gradient_checkpointing=True,
    )
    from lorawiz.core.session import Session

    session = Session.from_dict(base)
    session_file = work / "bench.toml"
    session_file.write_text(session.to_toml())
    config: dict[str, object] = {
        "model": str(model),
        "data": str(demo_dataset_path("demo-sft")),
        "out": str(work / "plain"),
        "steps": options.steps,
        "batch": options.batch,
        "max_length": options.max_length,
        "lr": session.train.learning_rate,
        "seed": session.train.seed,
        "gc": session.train.gradient_checkpointing,
        "warmup": session.train.warmup_ratio,
        "r": session.lora.r,
        "alpha": session.lora.alpha,
        "dropout": session.lora.dropout,
    }
    _check_same_data(config, env)
    print(
        f"QLoRA SFT on the demo model, {options.steps} steps, batch {options.batch}, "
        f"max_length {options.max_length}, {options.reps} reps each, alternating, "
        f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}",
        flush=True,
    )
    results: dict[str, list[dict[str, float]]] = {"lorawiz": [], "plain trl": []}
    for rep in range(options.reps):
        order = ["lorawiz", "plain trl"] if rep % 2 == 0 else ["plain trl", "lorawiz"]
        for name in order:
            if name == "lorawiz":
                result = run_lorawiz(session_file, work, env)
            else:
                result = run_plain(config, env)
            results[name].append(result)
            print(
                f"  rep {rep + 1} {name:9s} {result['speed']:.2f} steps/s, first step after "
                f"{result['first_step']:.1f}s, total {result['total']:.1f}s",
                flush=True,
            )
    median = {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    ours, plain = median["lorawiz"], median["plain trl"]
    print(f"lorawiz train : {ours['speed']:.3f} steps/s (median)")
    print(f"plain trl     : {plain['speed']:.3f} steps/s (median)")
    print(f"ratio         : {ours['speed'] / plain['speed']:.3f} (goal >= 0.95)")
    # Each rep runs the two back to back: the median of per-rep ratios is less sensitive to
    # other load on the machine drifting in and out than the ratio of medians.
    pairs = [
        a["speed"] / b["speed"]
        for a, b in zip(results["lorawiz"], results["plain trl"], strict=True)
    ]
    listed = ", ".join(f"{r:.3f}" for r in pairs)
    print(f"per-rep ratios: {listed}; median {statistics.median(pairs):.3f}")
    print(
        f"command to first logged step: lorawiz {ours['first_step']:.1f}s, "
        f"plain script {plain['first_step']:.1f}s (medians)"
    )


if __name__ == "__main__":
    main()
