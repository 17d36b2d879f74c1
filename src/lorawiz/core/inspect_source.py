"""Turn a MODEL argument ("demo", a local folder, a hub id) into a transformers config.

Only the config is ever read: no weights, and for a hub id only `config.json` is fetched.
Every failure is a one-line `ModelError` that says what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lorawiz.core.errors import ModelError

DEMO = "demo"


def looks_like_path(source: str) -> bool:
    """True when `source` is meant as a local path rather than a hub id like "org/name"."""
    if source.startswith((".", "/", "~")) or source.endswith(("/", os.sep)):
        return True
    other_seps = {os.sep, os.altsep or os.sep} - {"/"}
    if any(sep in source for sep in other_seps):
        return True
    # A hub id has at most one "/" (owner/name).
    return source.count("/") > 1


def resolve_folder(source: str) -> Path | None:
    """The local folder `source` names, or None for a hub id. Raises for a missing path."""
    if source == DEMO:
        try:
            from lorawiz.core.demo import ensure_demo_model
        except ImportError as exc:  # pragma: no cover - demo.py ships with lorawiz
            raise ModelError(f"the built-in demo model is unavailable ({exc})") from None
        return Path(ensure_demo_model())
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            if path.name == "config.json":
                return path.parent
            raise ModelError(f"{source} is a file; pass the model folder that holds config.json")
        return path
    if looks_like_path(source):
        raise ModelError(f"no model folder at {source}; check the path (it must hold config.json)")
    return None


def read_config_json(folder: Path) -> dict[str, Any]:
    """The parsed config.json of `folder`, or a ModelError that says what is wrong with it."""
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelError(
            f"{folder} has no config.json; pass a Hugging Face model folder, a hub id, or demo"
        )
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{config_file} is not valid JSON (line {exc.lineno}: {exc.msg}); fix or re-download it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read {config_file} ({exc}); check its permissions") from None
    if not isinstance(data, dict):
        raise ModelError(f"{config_file} is not a JSON object; fix or re-download it")
    return data


def _check_model_type(data: dict[str, Any], where: str, trust_remote_code: bool) -> None:
    from transformers.models.auto import configuration_auto

    model_type = data.get("model_type")
    remote = "AutoConfig" in (data.get("auto_map") or {})
    if model_type in configuration_auto.CONFIG_MAPPING_NAMES:  # type: ignore[attr-defined]
        return
    if remote and not trust_remote_code:
        raise ModelError(
            f"{where} runs its own Python code (auto_map); rerun with --trust-remote-code "
            "if you trust it"
        )
    if remote:
        return
    if not model_type:
        raise ModelError(f"{where} has no model_type; is it a transformers model config?")
    raise ModelError(
        f"{where} has model_type {model_type!r}, unknown to this transformers; "
        "upgrade transformers (pip install -U transformers)"
    )


def load_config(source: str, *, trust_remote_code: bool = False) -> tuple[Any, Path | None]:
    """The transformers config of `source` and the local folder it came from (None: hub)."""
    folder = resolve_folder(source)
    if folder is not None:
        data = read_config_json(folder)
        where = f"{folder / 'config.json'}"
        _check_model_type(data, where, trust_remote_code)
        return _auto_config(str(folder), where, trust_remote_code), folder
    return _hub_config(source, trust_remote_code), None


def _auto_config(name: str, where: str, trust_remote_code: bool) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise ModelError(
                f"{where} runs its own Python code; rerun with --trust-remote-code if you trust it"
            ) from None
        raise ModelError(f"{where} is not a valid config ({_first_line(exc)})") from None
    except Exception as exc:  # config classes validate with many exception types
        raise ModelError(f"{where} is not a valid config ({_first_line(exc)})") from None


def _hub_config(repo_id: str, trust_remote_code: bool) -> Any:
    from transformers import AutoConfig

    try:
        # The local cache first: instant, and works offline for any model fetched before.
        return AutoConfig.from_pretrained(
            repo_id, trust_remote_code=trust_remote_code, local_files_only=True
        )
    except Exception:  # not cached (or unusable): ask the hub below
        pass
    try:
        return AutoConfig.from_pretrained(repo_id, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        text = str(exc)
        if "trust_remote_code" in text:
            raise ModelError(
                f"{repo_id} runs its own Python code; "
                "rerun with --trust-remote-code if you trust it"
            ) from None
        if "Unrecognized model" in text or "model_type" in text:
            raise ModelError(
                f"{repo_id} has a model_type unknown to this transformers; "
                "upgrade transformers (pip install -U transformers)"
            ) from None
        raise _not_fetched(repo_id, exc) from None
    except Exception as exc:  # hub errors are many (offline, gated, 404, bad id); one message
        raise _not_fetched(repo_id, exc) from None


def _not_fetched(repo_id: str, exc: BaseException) -> ModelError:
    reason = _first_line(exc).split(". ")[0]
    return ModelError(
        f"cannot get the config of {repo_id!r} from the Hugging Face hub ({reason}); "
        "check the id, log in for gated models, or download the model and pass its local folder"
    )


def _first_line(exc: BaseException) -> str:
    """The exception's message on one line, shortened."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text[:240] if text else type(exc).__name__
