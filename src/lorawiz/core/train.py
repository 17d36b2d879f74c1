"""The training child: `python -m lorawiz.core.train RUN_DIR [--resume]`.

It reads the frozen `RUN_DIR/session.toml`, loads the base model (4-bit NF4 through
bitsandbytes for QLoRA, or unquantized for plain LoRA), wraps it with the session's LoRA config
and trains it with trl's `SFTTrainer` or `DPOTrainer`. Everything it has to say goes to
`events.jsonl` (see `core/events.py`); its stdout/stderr are the run's `train.log`.

Each attempt ends with exactly one terminal event: `done` (all steps, adapter saved), `stopped`
(SIGTERM: checkpoint and adapter saved) or `error` (exit 1). A kill -9 leaves none; readers call
that "crashed" and `lorawiz resume` continues from the newest checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lorawiz.core.errors import LorawizError
from lorawiz.core.events import DONE, ERROR, EVENTS_FILE, STOPPED, EventWriter
from lorawiz.core.runs import (
    ADAPTER_DIR,
    HANDSHAKE_FD_ENV,
    LOCK_FD_ENV,
    SESSION_FILE,
    acquire_lock,
    newest_checkpoint,
    validate,
    write_pid,
)
from lorawiz.core.train_callback import StopRequested, StopSignal, event_callback
from lorawiz.core.train_model import build_trainer

if TYPE_CHECKING:
    from lorawiz.core.train_model import Prepared


def say(message: str) -> None:
    """A human line for train.log."""
    print(f"[lorawiz] {message}", flush=True)


def _hold_lock(run_dir: Path) -> int | None:
    inherited = os.environ.pop(LOCK_FD_ENV, None)
    if inherited is not None:
        return int(inherited)
    return acquire_lock(run_dir)


class Handshake:
    """The go/no-go answer to a launcher waiting on our validation (see `runs.launch`): one
    JSON line on the pipe it passed, then the pipe is closed. Answers once; a no-op when no
    launcher waits."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    @classmethod
    def from_env(cls) -> Handshake:
        inherited = os.environ.pop(HANDSHAKE_FD_ENV, None)
        if inherited is None:
            return cls(None)
        fd = int(inherited)
        os.set_inheritable(fd, False)  # a process we start must not keep the launcher waiting
        return cls(fd)

    @property
    def waiting(self) -> bool:
        return self.fd is not None

    def go(self) -> None:
        self._send({"ok": True})

    def refuse(self, exc: LorawizError) -> bool:
        """Tell the launcher why not; False if it is no longer listening."""
        message = error_message(exc)[:4000]
        return self._send({"ok": False, "error": type(exc).__name__, "message": message})

    def _send(self, answer: dict[str, Any]) -> bool:
        if self.fd is None:
            return False
        fd, self.fd = self.fd, None
        try:
            os.write(fd, (json.dumps(answer) + "\n").encode("utf-8"))
            return True
        except OSError:  # the launcher stopped waiting (it closed its end)
            return False
        finally:
            os.close(fd)


class Refused(Exception):
    """Validation failed and the launcher was told: exit 2 without a word in events.jsonl."""


def offline_when_all_local(run_dir: Path) -> bool:
    """Set HF_HUB_OFFLINE=1 when the run's model and data are all on this machine.

    Such a run needs nothing from the hub, and libraries fetch things on their own otherwise:
    bitsandbytes downloads an optional CPU kernel from the hub when it is imported. A session
    naming a hub model or dataset keeps the network; a user's own HF_HUB_OFFLINE always wins.
    Must run before huggingface_hub is imported (it reads the variable once). True if set.
    """
    if "HF_HUB_OFFLINE" in os.environ:
        return False
    from lorawiz.core.demo import DEMO_DATASETS, DEMO_MODEL
    from lorawiz.core.session import load_session

    try:
        session = load_session(run_dir / SESSION_FILE)
    except LorawizError:
        return False  # validation reports it

    def local(name: str, builtin: Collection[str]) -> bool:
        return name in builtin or Path(name).expanduser().exists()

    if local(session.model.name, (DEMO_MODEL,)) and local(session.data.source, DEMO_DATASETS):
        os.environ["HF_HUB_OFFLINE"] = "1"
        return True
    return False


def check_session(run_dir: Path, handshake: Handshake) -> Prepared | None:
    """Validate the frozen session when a launcher waits for the verdict; what it loaded."""
    if not handshake.waiting:
        return None
    from lorawiz.core.session import load_session

    try:
        prepared: Prepared = validate(load_session(run_dir / SESSION_FILE))
    except LorawizError as exc:
        if handshake.refuse(exc):
            say(f"refused: {error_message(exc)}")
            raise Refused from exc
        raise  # nobody listens any more: an error event tells it
    return prepared


def train(
    run_dir: Path,
    *,
    resume: bool,
    events: EventWriter,
    stop: StopSignal,
    prepared: Prepared | None = None,
) -> int:
    """One attempt at the run; returns the exit code. Writes the terminal event."""
    from lorawiz.core.session import load_session

    session = load_session(run_dir / SESSION_FILE)
    checkpoint = newest_checkpoint(run_dir) if resume else None
    if resume:
        say(f"resuming from {checkpoint[1] if checkpoint else 'the beginning (no checkpoint)'}")
    built = build_trainer(session, run_dir, say=say, prepared=prepared)
    callback = event_callback(
        events,
        stop,
        {
            "device": built.device.torch_device,
            "device_name": built.device.name,
            "trainable_params": built.trainable_params,
            "total_params": built.total_params,
            "method": session.method,
            "model": session.model.name,
            "quantization": session.model.quantization,
            "pid": os.getpid(),
        },
        resumed_from=(checkpoint[0] if checkpoint else 0) if resume else None,
        dpo=session.method == "dpo",
    )
    trainer = built.trainer
    trainer.add_callback(callback)
    from lorawiz.core.devices import peak_memory, reset_peak_memory

    reset_peak_memory(built.device)
    trainer.train(resume_from_checkpoint=str(checkpoint[1]) if checkpoint else None)
    stop.interruptible = False  # a signal from here on changes nothing: the attempt is ending
    step = int(trainer.state.global_step)
    max_steps = int(trainer.state.max_steps)
    adapter = run_dir / ADAPTER_DIR
    trainer.model.save_pretrained(str(adapter), safe_serialization=True)
    built.tokenizer.save_pretrained(str(adapter))
    memory = peak_memory(built.device)
    say(f"adapter saved to {adapter}; peak memory {memory or 0:,} bytes")
    if stop.requested and step < max_steps:
        saved = run_dir / f"checkpoint-{step}"
        if not (saved / "trainer_state.json").is_file():
            trainer._save_checkpoint(trainer.model, trial=None)
        events.write(STOPPED, step=step, checkpoint=str(saved), adapter=str(adapter))
        say(f"stopped at step {step}/{max_steps}; checkpoint {saved}")
    else:
        events.write(DONE, step=step, adapter=str(adapter), peak_memory=memory)
        say(f"done: {step} steps")
    return 0


def error_message(exc: BaseException) -> str:
    """One line: a user's mistake as lorawiz words it, anything else with its type."""
    from lorawiz.core.errors import LorawizError

    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(exc, LorawizError):
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lorawiz.core.train")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir.absolute()

    lock = _hold_lock(run_dir)
    if lock is None:
        print(f"lorawiz: {run_dir} is in use by another process", file=sys.stderr)
        return 2
    write_pid(run_dir, os.getpid())
    offline_when_all_local(run_dir)
    # peft and trl still call transformers' renamed gradient-checkpointing methods; the
    # deprecation notes say nothing the user can act on and would fill the monitor's log tail.
    warnings.filterwarnings(
        "ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning
    )
    stop = StopSignal()
    handshake = Handshake.from_env()
    # events.jsonl is opened only once the launcher has its answer: a refused run writes none.
    events: EventWriter | None = None
    try:
        stop.install()  # a stop sent while we started is delivered (and raised) here
        prepared = check_session(run_dir, handshake)
        handshake.go()
        events = EventWriter(run_dir / EVENTS_FILE)
        return train(run_dir, resume=args.resume, events=events, stop=stop, prepared=prepared)
    except Refused:
        return 2
    except StopRequested:
        handshake.go()  # the run exists (stopped): the launcher follows it
        events = events or EventWriter(run_dir / EVENTS_FILE)
        found = newest_checkpoint(run_dir)
        step = found[0] if found else 0
        events.write(STOPPED, step=step, checkpoint=str(found[1]) if found else None)
        say("stopped before training began")
        return 0
    except BaseException as exc:
        stop.interruptible = False
        handshake.go()  # not a mistake in the session: the launcher reads it as a failed run
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        events = events or EventWriter(run_dir / EVENTS_FILE)
        events.write(ERROR, message=error_message(exc), traceback=text)
        return 1
    finally:
        if events is not None:
            events.close()


if __name__ == "__main__":
    sys.exit(main())
