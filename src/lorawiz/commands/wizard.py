"""`lorawiz`, `lorawiz --session FILE`, `lorawiz --demo` and `lorawiz monitor [RUN_DIR]`.

Only the session model and the Textual app are imported here; torch and friends load inside
the app's workers when a step needs them, so the first screen appears quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lorawiz.core.errors import RunError

if TYPE_CHECKING:
    from lorawiz.app import CoreServices, LorawizApp
    from lorawiz.core.session import Session


def build_app(
    *,
    session: Path | str | None = None,
    demo: bool = False,
    monitor: Path | None = None,
    runs: bool = False,
    services: CoreServices | None = None,
) -> LorawizApp:
    """The app for one entry point; a session file that fails validation opens with its
    problems shown on the fields (only an unreadable file or broken TOML raises SessionError)."""
    from lorawiz.app import LorawizApp
    from lorawiz.screens.draft import Draft

    if monitor is not None or runs:
        return LorawizApp(monitor=monitor, runs_list=runs, services=services)
    draft = None
    if session is not None:
        from lorawiz.core.session import resolve_session_path

        draft = Draft.load(resolve_session_path(session))
    elif demo:
        draft = Draft.of(_demo_session())
    return LorawizApp(draft=draft, inspect_on_start=draft is not None, services=services)


def _demo_session() -> Session:
    from lorawiz.core.demo import demo_session

    return demo_session("sft")


def open_wizard(session: Path | None = None, demo: bool = False) -> None:
    build_app(session=session, demo=demo).run()


def open_monitor(run_dir: Path | None) -> None:
    if run_dir is not None and not run_dir.is_dir():
        raise RunError(f"no run directory {run_dir}; `lorawiz runs` lists them")
    build_app(monitor=run_dir, runs=run_dir is None).run()
