"""Run directories: launching, stopping and resuming the training child, and reading its status.

A run directory holds `session.toml` (the frozen session), `events.jsonl`, `train.log`,
`checkpoint-N/` and, once finished or stopped, `adapter/`. The child (`python -m
lorawiz.core.train RUN_DIR`) runs detached in its own session, so closing the terminal or the TUI
never stops it.

Exclusion: a launch takes an exclusive `flock` on `RUN_DIR/.lock` before looking at the folder
and hands the very same lock to the child (an inherited descriptor), which holds it until it
exits. So two launches into one folder can never both start, with no window in between.
Liveness is read from `pid.json` (pid and process create time, so a reused pid is not mistaken
for the run) without touching the lock.

Validation: the launcher stays light (it never imports torch, transformers or datasets). The
child checks the session first (device, model, targets, data: `validate`) and answers over a
pipe (`LORAWIZ_HANDSHAKE_FD`) with one JSON line: `{"ok": true}`, or `{"ok": false, "error":
CLASS, "message": LINE}` and exit 2 without writing any event. The launcher waits for that
answer; on a refusal it removes what it created and raises the same LorawizError, so a bad
session still ends `lorawiz train` with exit 2, one line and nothing left behind. What the
child loaded while validating (the dataset above all) is what it trains on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lorawiz.core.errors import LorawizError, RunError
from lorawiz.core.events import DONE, ERROR, EVENTS_FILE, START, STOPPED, TERMINAL, read_events
from lorawiz.core.paths import data_dir, runs_dir

if TYPE_CHECKING:
    from lorawiz.core.session import Session

SESSION_FILE = "session.toml"
LOG_FILE = "train.log"
LOCK_FILE = ".lock"
PID_FILE = "pid.json"
ADAPTER_DIR = "adapter"
RUNS_ELSEWHERE = "runs-elsewhere.txt"
"""In the data folder: run directories launched outside the runs folder (`--run-dir`)."""
LOCK_FD_ENV = "LORAWIZ_LOCK_FD"
"""The child finds the launcher's lock descriptor under this environment variable."""
HANDSHAKE_FD_ENV = "LORAWIZ_HANDSHAKE_FD"
"""The write end of the go/no-go pipe, when the launcher waits for the child's validation."""

ACTIVE = frozenset({"starting", "running"})
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_EXIT_PATIENCE = 10.0
"""Seconds to let an ended child's last threads exit (and drop the lock)."""
HANDSHAKE_PATIENCE = 300.0
"""Seconds the launcher waits for the child's verdict on the session. Validation takes seconds
(imports, the model's config, reading the data); past this the launcher returns the run
directory anyway and the child reports any problem as an `error` event."""
FINISHED_STATUS = {DONE: "done", STOPPED: "stopped", ERROR: "failed"}

# Children this process launched, reaped as soon as they end (so none lingers as a zombie).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class RunStatus:
    """A snapshot of one run directory."""

    run_dir: Path
    status: str
    """"starting", "running", "done", "stopped", "failed" (error event) or "crashed"."""
    step: int
    """The last step an event reported (the checkpoint step right after a resume)."""
    max_steps: int | None
    method: str
    model: str
    pid: int | None
    """The child's pid while it runs; None otherwise."""
    started: float | None
    """Unix time of the first start (the run's beginning, across resumes)."""
    error: str | None
    """The error message of a failed run."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "status": self.status,
            "step": self.step,
            "max_steps": self.max_steps,
            "method": self.method,
            "model": self.model,
            "pid": self.pid,
            "started": self.started,
            "error": self.error,
        }


# ---------------------------------------------------------------------------- folder helpers


def default_run_dir(session: Session, root: Path | None = None) -> Path:
    """`<runs>/<YYYYmmdd-HHMMSS>-<method>-<model-name>`, with a suffix if it already exists."""
    name = session.model.name.rstrip("/\\")
    slug = re.sub(r"[^\w.-]+", "-", Path(name).name or name).strip("-.") or "model"
    base = (root or runs_dir()) / f"{time.strftime('%Y%m%d-%H%M%S')}-{session.method}-{slug}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete Trainer checkpoints, oldest first. The Trainer writes `trainer_state.json`
    last, so a folder without it is a save that was cut off."""
    found = []
    for path in run_dir.glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and (path / "trainer_state.json").is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def newest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def is_run_dir(path: Path) -> bool:
    return (path / SESSION_FILE).is_file()


# ---------------------------------------------------------------------------- lock and pid


def acquire_lock(run_dir: Path, patience: float = 0.0) -> int | None:
    """An fd holding the exclusive run lock, or None if another process holds it.

    `patience` retries for that many seconds: a child whose main thread has ended (and wrote
    its terminal event) can hold the lock a moment longer while its last threads exit.
    """
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def _lock_held(run_dir: Path) -> bool:
    path = run_dir / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a probe lock we got
    return False


def write_pid(run_dir: Path, pid: int) -> None:
    import psutil

    from lorawiz.core.session import write_atomic

    try:
        created = psutil.Process(pid).create_time()
    except psutil.Error:
        created = None
    record = {"pid": pid, "create_time": created, "written": time.time()}
    write_atomic(run_dir / PID_FILE, json.dumps(record) + "\n")


def read_pid(run_dir: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((run_dir / PID_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None


def _reap() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


def _alive(record: dict[str, Any] | None) -> bool:
    """True when the recorded pid is the same, still running process (not a reused pid)."""
    if record is None:
        return False
    import psutil

    _reap()
    try:
        proc = psutil.Process(int(record["pid"]))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = record.get("create_time")
        return created is None or abs(proc.create_time() - float(created)) < 1.0
    except psutil.Error:
        return False


# ---------------------------------------------------------------------------- status


def _session_summary(run_dir: Path) -> tuple[str, str, int | None]:
    import tomllib

    try:
        raw = tomllib.loads((run_dir / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "?", "?", None
    method = str(raw.get("method", "sft"))
    model = raw.get("model", {})
    train = raw.get("train", {})
    name = str(model.get("name", "demo")) if isinstance(model, dict) else "?"
    max_steps = train.get("max_steps") if isinstance(train, dict) else None
    return method, name, max_steps if isinstance(max_steps, int) else None


def process_alive(run_dir: Path) -> bool:
    """Whether the run's process (or a launcher about to spawn it) is there.

    Reads only the pid record and the lock, never `events.jsonl`: cheap enough for a live view
    to poll while it follows the events itself (run_status re-reads the whole file).
    """
    return _alive(read_pid(Path(run_dir))) or _lock_held(Path(run_dir))


def run_status(run_dir: Path) -> RunStatus:
    """What a run directory holds right now; RunError if it is not a run directory."""
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise RunError(f"{run_dir} is not a lorawiz run directory (no {SESSION_FILE})")
    method, model, max_steps = _session_summary(run_dir)
    events = read_events(run_dir)
    pid_record = read_pid(run_dir)
    alive = _alive(pid_record)

    step, started, last, error = 0, None, None, None
    for event in events:
        kind = event.get("event")
        if kind == START:
            started = started if started is not None else event.get("time")
            if isinstance(event.get("max_steps"), int):
                max_steps = event["max_steps"]
            if isinstance(event.get("resumed_from"), int):
                step = event["resumed_from"]
        if isinstance(event.get("step"), int):
            step = event["step"]
        if kind == START or kind in TERMINAL:
            last = event
    if last is not None and last.get("event") == ERROR:
        error = str(last.get("message", ""))

    if alive:
        status = "running" if last is not None and last.get("event") == START else "starting"
    elif last is not None and last.get("event") in TERMINAL:
        status = FINISHED_STATUS[str(last["event"])]
    elif pid_record is None and not events and _lock_held(run_dir):
        status = "starting"  # a launcher holds the lock and is about to spawn the child
    else:
        status = "crashed"
    if started is None and pid_record is not None:
        started = pid_record.get("written")
    return RunStatus(
        run_dir=run_dir,
        status=status,
        step=step,
        max_steps=max_steps,
        method=method,
        model=model,
        pid=int(pid_record["pid"]) if alive and pid_record else None,
        started=started,
        error=error if status == "failed" else None,
    )


def remember_run(run_dir: Path) -> None:
    """Note a run launched outside the runs folder, so `lorawiz runs` still lists it."""
    if run_dir == runs_dir() or runs_dir() in run_dir.parents:
        return
    index = data_dir() / RUNS_ELSEWHERE
    index.parent.mkdir(parents=True, exist_ok=True)
    with open(index, "a", encoding="utf-8") as handle:
        handle.write(f"{run_dir}\n")


def remembered_runs() -> list[Path]:
    """Run directories launched elsewhere, in launch order, once each."""
    try:
        lines = (data_dir() / RUNS_ELSEWHERE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [Path(line) for line in dict.fromkeys(lines) if line.strip()]


def list_runs(root: Path | None = None) -> list[RunStatus]:
    """Every run directory under `root`, newest first. Without `root`: the runs folder and the
    runs launched elsewhere with `--run-dir` that still exist."""
    folder = root or runs_dir()
    candidates = list(folder.iterdir()) if folder.is_dir() else []
    if root is None:
        candidates += remembered_runs()
    found = []
    for path in dict.fromkeys(candidates):
        if path.is_dir() and is_run_dir(path):
            with contextlib.suppress(LorawizError, OSError):
                found.append(run_status(path))

    def newest(status: RunStatus) -> float:
        if status.started is not None:
            return float(status.started)
        return (status.run_dir / SESSION_FILE).stat().st_mtime

    return sorted(found, key=newest, reverse=True)


# ---------------------------------------------------------------------------- launching


def _absolute_local_paths(session: Session) -> Session:
    """Freeze local model/data paths as absolute, so `resume` works from any folder."""
    from lorawiz.core.session import Session

    raw = session.to_dict()
    changed = False
    for section, key in (("model", "name"), ("data", "source")):
        value = raw[section][key]
        path = Path(value).expanduser()
        if not path.is_absolute() and path.exists():
            raw[section][key] = str(path.resolve())
            changed = True
    return Session.from_dict(raw) if changed else session


def validate(session: Session) -> Any:
    """Check what can be checked before loading the weights: device, model, targets, data.

    Raises the matching LorawizError (DeviceError, ModelError, DataError…) with a one-line
    message. Heavy (imports torch, transformers, datasets): the training child runs it first
    and reports to its launcher; it returns what it loaded (`train_model.Prepared`) so the child
    trains on it instead of loading it again.
    """
    from lorawiz.core.train_model import prepare

    return prepare(session)


def _cheap_checks(session: Session) -> None:
    """What the launcher checks itself, without importing anything heavy."""
    import importlib.util

    if session.model.quantization == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
        raise RunError('quantization = "nf4" needs bitsandbytes; pip install bitsandbytes')


def _spawn(
    run_dir: Path, lock_fd: int, *, resume: bool, handshake: bool
) -> tuple[subprocess.Popen[bytes], int | None]:
    """Start the child; with `handshake`, also the read end of the pipe its verdict comes on."""
    env = dict(os.environ)
    env[LOCK_FD_ENV] = str(lock_fd)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop(HANDSHAKE_FD_ENV, None)
    fds = [lock_fd]
    read_end = write_end = None
    if handshake:
        read_end, write_end = os.pipe()
        env[HANDSHAKE_FD_ENV] = str(write_end)
        fds.append(write_end)
    command = [sys.executable, "-m", "lorawiz.core.train", str(run_dir)]
    if resume:
        command.append("--resume")
    # The child starts with SIGTERM/SIGINT blocked and unblocks them once its handler is in
    # place: a stop that lands while Python is still starting becomes a clean `stopped`.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        with open(run_dir / LOG_FILE, "ab") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C and hang-up never reach it
                pass_fds=tuple(fds),
                env=env,
                close_fds=True,
            )
    except BaseException:
        if read_end is not None:
            os.close(read_end)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if write_end is not None:
            os.close(write_end)  # only the child holds it now: its exit reads as end-of-file
    _CHILDREN[proc.pid] = proc
    write_pid(run_dir, proc.pid)
    return proc, read_end


def _read_verdict(read_end: int, timeout: float) -> dict[str, Any] | None:
    """The child's one-line answer; None if it closed the pipe (ended) without one.
    TimeoutError after `timeout` seconds. Closes `read_end`."""
    import select

    data = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([read_end], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
    try:
        verdict = json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        return None
    return verdict if isinstance(verdict, dict) else None


def _refusal(verdict: dict[str, Any]) -> LorawizError:
    """The LorawizError the child refused with, as the same class."""
    from lorawiz.core import errors

    cls = getattr(errors, str(verdict.get("error")), None)
    if not (isinstance(cls, type) and issubclass(cls, LorawizError)):
        cls = LorawizError
    message = str(verdict.get("message") or "the run was refused")
    return cls(message.splitlines()[0] if message.strip() else message)


def _end_child(proc: subprocess.Popen[bytes], *, terminate: bool) -> bool:
    """Wait (briefly) for the child to exit, asking it to stop first with `terminate`.
    True once it has ended."""
    if terminate:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=_EXIT_PATIENCE)
    except subprocess.TimeoutExpired:
        return False
    _CHILDREN.pop(proc.pid, None)
    return True


def _await_go(
    proc: subprocess.Popen[bytes], read_end: int, run_dir: Path, undo: Callable[[], None] | None
) -> None:
    """Wait for the child's verdict. On a refusal (or Ctrl-C here) undo what the launch made
    (`undo`, None for a resume) once the child has ended, then raise."""
    try:
        verdict = _read_verdict(read_end, HANDSHAKE_PATIENCE)
    except TimeoutError:
        return  # still validating: let it go on; it reports any problem as an error event
    except KeyboardInterrupt:
        # The launch is cancelled: the child stops (a `stopped` event), and a new run
        # directory goes again, as if it had never been launched.
        if _end_child(proc, terminate=True) and undo is not None:
            undo()
        raise
    if verdict is None:
        _end_child(proc, terminate=False)
        code = proc.poll()
        raise RunError(
            f"the training process ended while starting (exit code {code}); "
            f"see {run_dir / LOG_FILE}"
        )
    if verdict.get("ok") is True:
        return
    error = _refusal(verdict)
    if _end_child(proc, terminate=False) and undo is not None:
        undo()
    raise error


def _undoer(run_dir: Path) -> Callable[[], None]:
    """A function removing what a launch into `run_dir` is about to create (and no more): the
    folders it makes, or inside an existing (empty) folder the entries that were not there."""
    import shutil

    top = None
    for folder in (run_dir, *run_dir.parents):
        if folder.exists():
            break
        top = folder
    before = set() if top is not None else {p.name for p in run_dir.iterdir()}

    def undo() -> None:
        if top is not None:
            shutil.rmtree(top, ignore_errors=True)
            return
        for path in run_dir.iterdir():
            if path.name not in before:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.unlink()

    return undo


def launch(session: Session, run_dir: Path | None = None, *, check: bool = True) -> Path:
    """Freeze `session.toml` into a new run directory, spawn the child; return the dir.

    RunError (and nothing touched) if the folder holds a run already or is a non-empty folder.
    With `check` (the default) the child validates the session first (device, model, targets,
    data) and this waits for its verdict: a refusal removes what this launch created and
    raises the child's LorawizError. `check=False` returns as soon as the child is spawned
    (it still reports every problem, as an `error` event).
    """
    from lorawiz.core.session import write_atomic

    session = _absolute_local_paths(session)
    if run_dir is not None:
        run_dir = Path(run_dir).expanduser().absolute()
        _refuse_existing(run_dir)
    if check:
        _cheap_checks(session)
    if run_dir is None:
        run_dir = default_run_dir(session)
    undo = _undoer(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = acquire_lock(run_dir)
    if fd is None:
        raise RunError(f"{run_dir} is in use by a running run; pick another --run-dir")
    try:
        _refuse_existing(run_dir)
        write_atomic(run_dir / SESSION_FILE, session.to_toml())
        proc, verdict = _spawn(run_dir, fd, resume=False, handshake=check)
    finally:
        os.close(fd)  # the child keeps the lock through its inherited descriptor
    if verdict is not None:
        _await_go(proc, verdict, run_dir, undo)
    remember_run(run_dir)
    return run_dir


def _refuse_existing(run_dir: Path) -> None:
    if is_run_dir(run_dir):
        status = run_status(run_dir)
        hint = (
            "use `lorawiz resume` to continue it"
            if status.status in ("stopped", "crashed", "failed")
            else "pick another --run-dir"
        )
        raise RunError(f"{run_dir} already holds a {status.status} run; {hint}")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file; give a folder for --run-dir")
    if run_dir.is_dir() and any(p.name != LOCK_FILE for p in run_dir.iterdir()):
        raise RunError(f"{run_dir} is a non-empty folder; give a new or empty folder")


def resume(run_dir: Path, *, check: bool = True) -> Path:
    """Continue a stopped, crashed or failed run from its newest checkpoint, in the same dir.

    With `check` the child validates the session first, as for `launch`; a refusal raises its
    LorawizError and leaves the run as it was (nothing in it is removed).
    """
    run_dir = Path(run_dir).expanduser().absolute()
    status = run_status(run_dir)
    _check_resumable(status)
    fd = acquire_lock(run_dir, patience=_EXIT_PATIENCE)
    if fd is None:
        raise RunError(f"{run_dir} is still running; stop it first or wait")
    try:
        _check_resumable(run_status(run_dir))
        proc, verdict = _spawn(run_dir, fd, resume=True, handshake=check)
    finally:
        os.close(fd)
    if verdict is not None:
        _await_go(proc, verdict, run_dir, None)
    return run_dir


def _check_resumable(status: RunStatus) -> None:
    if status.status in ACTIVE:
        raise RunError(f"{status.run_dir} is still {status.status}; nothing to resume")
    if status.status == "done":
        raise RunError(f"{status.run_dir} finished all its steps; there is nothing to resume")


def stop(run_dir: Path, timeout: float | None = None) -> None:
    """Ask a running run to stop (SIGTERM): it finishes the step, saves a checkpoint and the
    adapter. With `timeout`, wait that long for it to end (RunError if it has not)."""
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    if not status.active or status.pid is None:
        raise RunError(f"{run_dir} is not running (it is {status.status})")
    with contextlib.suppress(ProcessLookupError):
        os.kill(status.pid, signal.SIGTERM)
    if timeout is not None:
        try:
            wait(run_dir, timeout)
        except TimeoutError:
            raise RunError(
                f"{run_dir} did not stop within {timeout:g}s; it is still finishing its step"
            ) from None


def wait(run_dir: Path, timeout: float | None = None, poll: float = 0.2) -> RunStatus:
    """Block until the run is no longer starting/running; TimeoutError after `timeout` s."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        status = run_status(run_dir)
        if not status.active:
            # The terminal event is written; give the process's last threads time to exit,
            # so a resume right after this finds the lock free.
            fd = acquire_lock(Path(run_dir), patience=_EXIT_PATIENCE)
            if fd is not None:
                os.close(fd)
            return status
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{run_dir} still {status.status} after {timeout}s")
        time.sleep(poll)


def events_path(run_dir: Path) -> Path:
    return Path(run_dir) / EVENTS_FILE
