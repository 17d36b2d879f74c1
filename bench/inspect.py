"""Benchmark `lorawiz inspect` against peft doing the same job, and the CLI against bare imports.

    .venv/bin/python bench/inspect.py [--reps 3]

1. For a Llama-2-70B-shaped and a Mixtral-8x7B-shaped config: seconds and peak memory of
   `inspect_config` + `trainable_params`, beside the baseline of building the same meta model and
   running `peft.get_peft_model(all-linear, r=8).get_nb_trainable_parameters()`. Each
   measurement runs in its own process (clean peak RSS); both report the same counts.
2. The whole `lorawiz inspect <folder with the 70B config.json>` command against
   `python -c "import torch, transformers, peft"`. Goal: ≤ 1.5× the wall time, < 1.5 GB RSS.

Figures are medians over `--reps` repetitions. Nothing is downloaded: configs are built in code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "llama2-70b": (
        "LlamaConfig",
        dict(
            hidden_size=8192,
            intermediate_size=28672,
            num_hidden_layers=80,
            num_attention_heads=64,
            num_key_value_heads=8,
            vocab_size=32000,
        ),
    ),
    "mixtral-8x7b": (
        "MixtralConfig",
        dict(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=32000,
            num_local_experts=8,
            num_experts_per_tok=2,
        ),
    ),
}

_CHILD_PRELUDE = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import torch, transformers
config = getattr(transformers, {cls!r})(**json.loads({kwargs!r}))
"""

LORAWIZ_CHILD = (
    _CHILD_PRELUDE
    + """
from lorawiz.core.inspect import inspect_config
start = time.perf_counter()
inspection = inspect_config(config)
trainable = inspection.trainable_params("all-linear", 8)
seconds = time.perf_counter() - start
total = inspection.total_params
"""
)

PEFT_CHILD = (
    _CHILD_PRELUDE
    + """
import peft
start = time.perf_counter()
with torch.device("meta"):
    model = transformers.AutoModelForCausalLM.from_config(config)
total = model.num_parameters()
peft_model = peft.get_peft_model(
    model, peft.LoraConfig(r=8, target_modules="all-linear", task_type="CAUSAL_LM")
)
trainable = peft_model.get_nb_trainable_parameters()[0]
seconds = time.perf_counter() - start
"""
)

_CHILD_REPORT = """
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "trainable": trainable, "total": total}))
"""


def run_child(code: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def timed_command(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one command, its own process measured alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def median_of(samples: list[dict[str, float]], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def bench_inspection(reps: int) -> None:
    print("## inspection vs peft.get_peft_model on the same meta model (all-linear, r=8)")
    print(f"{'model':14} {'':8} {'seconds':>9} {'peak MB':>9} {'trainable':>14} {'total':>16}")
    for name, (cls, kwargs) in CONFIGS.items():
        fill = {"cls": cls, "kwargs": json.dumps(kwargs)}
        ours = [run_child(LORAWIZ_CHILD.format(**fill) + _CHILD_REPORT) for _ in range(reps)]
        base = [run_child(PEFT_CHILD.format(**fill) + _CHILD_REPORT) for _ in range(reps)]
        for label, samples in (("lorawiz", ours), ("peft", base)):
            print(
                f"{name:14} {label:8} {median_of(samples, 'seconds'):9.3f} "
                f"{median_of(samples, 'rss_mb'):9.0f} {int(samples[0]['trainable']):>14,} "
                f"{int(samples[0]['total']):>16,}"
            )
        same = (ours[0]["trainable"], ours[0]["total"]) == (base[0]["trainable"], base[0]["total"])
        time_ratio = median_of(ours, "seconds") / median_of(base, "seconds")
        rss_ratio = median_of(ours, "rss_mb") / median_of(base, "rss_mb")
        print(
            f"{name:14} ratio    {time_ratio:9.3f} {rss_ratio:9.3f}   "
            f"counts {'identical' if same else 'DIFFER'}"
        )


def bench_command(reps: int) -> None:
    print("\n## `lorawiz inspect <70B folder>` vs `python -c 'import torch, transformers, peft'`")
    cls, kwargs = CONFIGS["llama2-70b"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "llama2-70b"
        # In a child: this file is named inspect.py and would shadow the stdlib module here.
        save = (
            f"import transformers; "
            f"transformers.{cls}(**{kwargs!r}).save_pretrained({str(folder)!r})"
        )
        subprocess.run([sys.executable, "-c", save], check=True, env=_env(), cwd=tmp)
        lorawiz = str(Path(sys.executable).with_name("lorawiz"))
        commands = {
            "lorawiz inspect": [lorawiz, "inspect", str(folder)],
            "lorawiz inspect --json": [lorawiz, "inspect", str(folder), "--json"],
            "import torch, transformers, peft": [
                sys.executable,
                "-c",
                "import torch, transformers, peft",
            ],
        }
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(reps):  # interleaved, so drift hits every command alike
            for label, argv in commands.items():
                results[label].append(timed_command(argv))
    baseline = statistics.median(s for s, _ in results["import torch, transformers, peft"])
    print(f"{'command':34} {'seconds':>8} {'peak MB':>8} {'× imports':>10}")
    for label, samples in results.items():
        seconds = statistics.median(s for s, _ in samples)
        rss = statistics.median(m for _, m in samples)
        print(f"{label:34} {seconds:8.2f} {rss:8.0f} {seconds / baseline:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement")
    args = parser.parse_args()
    bench_inspection(args.reps)
    bench_command(args.reps)


if __name__ == "__main__":
    main()
