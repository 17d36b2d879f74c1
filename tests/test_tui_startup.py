"""The first screen appears without importing torch, transformers or peft (nor pydantic)."""

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
        # The default session is filled in after the first frame; it still needs no torch.
        for _ in range(100):
            if app.screen.draft.validated:
                break
            await pilot.pause(0.05)
        model = app.screen.draft.get("model.name")
        later = sorted(m for m in ("torch", "transformers", "peft") if m in sys.modules)
    print(json.dumps({"screen": first, "heavy": heavy, "model": model, "later": later}))

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
    assert result == {"screen": "WizardScreen", "heavy": [], "model": "demo", "later": []}
