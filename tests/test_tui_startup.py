"""The first screen appears without importing torch, transformers or peft (nor pydantic), nor
the other wizard steps; the recent lists arrive after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
from lorawiz.commands.wizard import build_app

async def main():
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first = type(app.screen).__name__
        heavy = sorted(m for m in ("torch", "transformers", "peft", "trl", "datasets")
                       if m in sys.modules)
        # The other steps (and the DataTable, RadioSet they use) load on their first visit.
        steps = sorted(m for m in ("lorawiz.screens.step_data", "lorawiz.screens.step_training",
                                   "textual.widgets._data_table", "textual.widgets._radio_set")
                       if m in sys.modules)
        # The default session is filled in after the first frame; it still needs no torch.
        for _ in range(100):
            if app.screen.draft.validated:
                break
            await pilot.pause(0.05)
        model = app.screen.draft.get("model.name")
        for _ in range(100):  # the recent lists are mounted once the sessions are read
            if app.screen.query("#recent-models"):
                break
            await pilot.pause(0.05)
        recent = [str(o.prompt) for o in app.screen.query_one("#recent-models").options]
        later = sorted(m for m in ("torch", "transformers", "peft") if m in sys.modules)
    print(json.dumps({"screen": first, "heavy": heavy, "steps": steps, "model": model,
                      "later": later, "recent": recent}))

import asyncio
asyncio.run(main())
"""


def test_first_screen_imports_no_torch(tmp_path: Path) -> None:
    env = {**os.environ, "LORAWIZ_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "screen": "WizardScreen",
        "heavy": [],
        "steps": [],
        "model": "demo",
        "later": [],
        "recent": ["demo"],
    }
