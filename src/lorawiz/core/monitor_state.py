"""What the monitor shows, computed from a run's events without any UI: series, status, ETA.

The TUI's reader thread folds `events.jsonl` into a `RunFold` and hands the UI frozen
`RunSnapshot`s; widgets only draw them. Everything here is plain arithmetic so it is tested
directly, and so a 100,000-step run costs one pass over the file plus a cheap downsample per redraw.
"""

from __future__ import annotations

import math
import os
import sys
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lorawiz.core import events as ev

RUNNING: Final = "running"
DONE: Final = "done"
STOPPED: Final = "stopped"
FAILED: Final = "failed"
CRASHED: Final = "crashed"
WAITING: Final = "waiting"
"""No start event yet: the child is still importing torch and loading the model."""

# Log-event keys drawn as series, in the names the UI uses.
SERIES_KEYS: Final = {
    "loss": "loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "rewards/margins": "margins",
    "rewards/accuracies": "accuracies",
    "rewards/chosen": "chosen",
    "rewards/rejected": "rejected",
}
# Keys a log event may carry the device memory under (bytes), first found wins.
MEMORY_KEYS: Final = ("memory", "device_memory", "peak_memory", "max_memory_allocated")

RATE_WINDOW: Final = 20
"""Log events the steps/s estimate looks back over (recent speed, not the average since start)."""


@dataclass(frozen=True)
class Series:
    """One metric over steps; `steps` ascending, same length as `values`."""

    name: str
    steps: tuple[float, ...] = ()
    values: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None


@dataclass(frozen=True)
class RunSnapshot:
    """Everything the monitor draws at one moment; immutable so threads can share it."""

    run_dir: str
    status: str = WAITING
    method: str = ""
    model: str = ""
    device: str = ""
    step: int = 0
    max_steps: int | None = None
    elapsed: float = 0.0
    """Seconds of training time, summed over attempts (a resume does not count the pause)."""
    eta: float | None = None
    steps_per_s: float | None = None
    memory: float | None = None
    """Device memory in bytes, when the child reports it."""
    trainable_params: int | None = None
    attempts: int = 0
    resumed_from: int | None = None
    error: str | None = None
    traceback: str | None = None
    adapter: str | None = None
    checkpoint: str | None = None
    series: dict[str, Series] = field(default_factory=dict)
    log_tail: tuple[str, ...] = ()
    events: int = 0

    def get(self, name: str) -> Series:
        return self.series.get(name) or Series(name)

    @property
    def progress(self) -> float | None:
        if not self.max_steps:
            return None
        return min(1.0, self.step / self.max_steps)

    @property
    def is_live(self) -> bool:
        return self.status in (RUNNING, WAITING)


def session_info(path: Path) -> dict[str, Any]:
    """method, model and max_steps from a run's frozen `session.toml`; {} when unreadable."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    info: dict[str, Any] = {}
    method = data.get("method")
    if isinstance(method, str):
        info["method"] = method
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("name"), str):
        info["model"] = model["name"]
    train = data.get("train")
    if isinstance(train, dict) and _integer(train.get("max_steps")):
        info["max_steps"] = train["max_steps"]
    return info


class RunFold:
    """Accumulates events into series; `snapshot()` freezes the current state.

    Not thread-safe by design: one reader thread owns it and posts snapshots.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = str(run_dir)
        self.steps: dict[str, list[float]] = {name: [] for name in SERIES_KEYS.values()}
        self.values: dict[str, list[float]] = {name: [] for name in SERIES_KEYS.values()}
        self.info: dict[str, Any] = {}
        self.step = 0
        self.terminal: str | None = None
        self.attempts = 0
        self.resumed_from: int | None = None
        self.error: str | None = None
        self.traceback: str | None = None
        self.adapter: str | None = None
        self.checkpoint: str | None = None
        self.memory: float | None = None
        self.events = 0
        self.pid: int | None = None
        self.attempt_start: float | None = None
        self.last_time: float | None = None
        self.finished_elapsed = 0.0
        self.recent: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW)
        self._cache: dict[str, Series] = {}
        # Until the child's start event (seconds away: it imports torch first), show what the
        # frozen session says; the start event overrides it.
        self.info.update(session_info(Path(run_dir) / "session.toml"))

    def add(self, events: Iterable[ev.Event]) -> bool:
        """Fold new events in; returns whether anything changed."""
        changed = False
        for event in events:
            changed = True
            self.events += 1
            self._add(event)
        return changed

    def _add(self, event: ev.Event) -> None:
        kind = event.get("event")
        moment = _number(event.get("time"))
        if kind == ev.START:
            self._close_attempt()  # a crashed attempt ends at its last event, not at this one
        if moment is not None:
            self.last_time = moment
        if kind == ev.START:
            self.attempts += 1
            self.terminal = None
            self.error = self.traceback = None
            self.info.update({k: v for k, v in event.items() if k not in ("event", "time")})
            self.pid = _integer(event.get("pid"))
            self.attempt_start = moment
            self.recent.clear()
            resumed = _integer(event.get("resumed_from"))
            self.resumed_from = resumed
            if resumed is not None:
                self._truncate(resumed)
                self.step = resumed
        elif kind == ev.LOG:
            step = _integer(event.get("step"))
            if step is None:
                return
            self.step = max(self.step, step)
            if moment is not None:
                self.recent.append((moment, step))
            for key, name in SERIES_KEYS.items():
                value = _number(event.get(key))
                if value is not None and math.isfinite(value):
                    self.steps[name].append(float(step))
                    self.values[name].append(value)
                    self._cache.pop(name, None)
            for key in MEMORY_KEYS:
                memory = _number(event.get(key))
                if memory is not None:
                    self.memory = memory
                    break
        elif kind == ev.CHECKPOINT:
            self.checkpoint = str(event.get("path", "")) or None
        elif kind in ev.TERMINAL:
            self.terminal = str(kind)
            step = _integer(event.get("step"))
            if step is not None:
                self.step = max(self.step, step)
            if kind == ev.ERROR:
                self.error = str(event.get("message", "the run failed"))
                self.traceback = str(event.get("traceback", "")) or None
            elif kind == ev.DONE:
                self.adapter = str(event.get("adapter", "")) or None
            elif kind == ev.STOPPED:
                self.checkpoint = str(event.get("checkpoint", "")) or self.checkpoint
            for key in MEMORY_KEYS:
                memory = _number(event.get(key))
                if memory is not None:
                    self.memory = memory
                    break
            self._close_attempt()

    def _close_attempt(self) -> None:
        if self.attempt_start is not None and self.last_time is not None:
            self.finished_elapsed += max(0.0, self.last_time - self.attempt_start)
        self.attempt_start = None

    def _truncate(self, step: int) -> None:
        # A resume re-logs the steps after its checkpoint: drop the first attempt's copies.
        for name, steps in self.steps.items():
            cut = bisect_right(steps, step)
            if cut < len(steps):
                del steps[cut:]
                del self.values[name][cut:]
                self._cache.pop(name, None)

    def status(self, process_alive: bool | None) -> str:
        """running/done/stopped/failed/crashed; `process_alive` None: unknown (assume alive)."""
        if self.terminal == ev.DONE:
            return DONE
        if self.terminal == ev.STOPPED:
            return STOPPED
        if self.terminal == ev.ERROR:
            return FAILED
        if process_alive is False:
            return CRASHED
        return RUNNING if self.attempts else WAITING

    def snapshot(
        self,
        *,
        process_alive: bool | None = None,
        now: float | None = None,
        log_tail: Sequence[str] = (),
    ) -> RunSnapshot:
        status = self.status(process_alive)
        now = time.time() if now is None else now
        elapsed = self.finished_elapsed
        if self.attempt_start is not None:
            end = now if status in (RUNNING, WAITING) else (self.last_time or now)
            elapsed += max(0.0, end - self.attempt_start)
        max_steps = _integer(self.info.get("max_steps"))
        rate = steps_per_second(list(self.recent))
        eta = None
        if status == RUNNING and rate and max_steps:
            eta = max(0.0, (max_steps - self.step) / rate)
        series = {}
        for name in self.steps:
            cached = self._cache.get(name)
            if cached is None:
                cached = Series(name, tuple(self.steps[name]), tuple(self.values[name]))
                self._cache[name] = cached
            series[name] = cached
        return RunSnapshot(
            run_dir=self.run_dir,
            status=status,
            method=str(self.info.get("method", "")),
            model=str(self.info.get("model", "")),
            device=str(self.info.get("device", "")),
            step=self.step,
            max_steps=max_steps,
            elapsed=elapsed,
            eta=eta,
            steps_per_s=rate,
            memory=self.memory,
            trainable_params=_integer(self.info.get("trainable_params")),
            attempts=self.attempts,
            resumed_from=self.resumed_from,
            error=self.error,
            traceback=self.traceback,
            adapter=self.adapter,
            checkpoint=self.checkpoint,
            series=series,
            log_tail=tuple(log_tail),
            events=self.events,
        )


def steps_per_second(points: Sequence[tuple[float, int]]) -> float | None:
    """Recent speed from (time, step) pairs, oldest first; None until two distinct points."""
    if len(points) < 2:
        return None
    (t0, s0), (t1, s1) = points[0], points[-1]
    if t1 <= t0 or s1 <= s0:
        return None
    return (s1 - s0) / (t1 - t0)


def downsample(
    steps: Sequence[float], values: Sequence[float], buckets: int
) -> tuple[list[float], list[float]]:
    """At most `buckets` points: the mean of each equal-width run of points.

    A chart `buckets` cells wide cannot show more; averaging (rather than picking every n-th
    point) keeps a noisy loss curve's level honest.
    """
    n = len(steps)
    if buckets <= 0 or n == 0:
        return [], []
    if n <= buckets:
        return list(steps), list(values)
    xs: list[float] = []
    ys: list[float] = []
    size = n / buckets
    for b in range(buckets):
        lo = int(b * size)
        hi = max(lo + 1, int((b + 1) * size))
        chunk = values[lo:hi]
        xs.append(steps[(lo + hi - 1) // 2])
        ys.append(sum(chunk) / len(chunk))
    return xs, ys


def format_duration(seconds: float | None) -> str:
    """ "1:02:03", "4:05", or "—" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def format_count(value: float) -> str:
    """Parameter counts as people say them: 6.74 B, 19.99 M, 4.2 K."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f}"


def tail_lines(path: Path, n: int = 200, block: int = 16_384) -> list[str]:
    """The last `n` lines of a text file, reading only its end; [] when it does not exist."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - block))
            data = handle.read()
    except OSError:
        return []
    # Split on newlines only: progress bars redraw a line with \r, keep what a terminal shows.
    lines = data.decode("utf-8", errors="replace").split("\n")
    if lines and not lines[-1]:
        lines.pop()
    if size > block and lines:
        lines = lines[1:]  # the first line is probably cut
    return [line.rsplit("\r", 1)[-1] for line in lines[-n:]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
