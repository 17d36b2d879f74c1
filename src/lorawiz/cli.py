"""The `lorawiz` command line: typer entry points on the same core as the wizard.

Only typer is imported at module level. Each command imports its body (and through it torch,
transformers, textual…) when it runs, so `lorawiz --help` stays instant.
Exit codes: 0 success, 1 the run failed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from lorawiz.core.errors import LorawizError

app = typer.Typer(
    name="lorawiz",
    help="A terminal wizard for QLoRA SFT and DPO fine-tuning. Run without a command to open it.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    typer.echo(f"lorawiz: {message}", err=True)
    return typer.Exit(code)


def user_errors(func: F) -> F:
    """Turn a LorawizError into one line and exit 2; Ctrl-C into exit 130, quietly."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LorawizError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
@user_errors
def wizard(
    ctx: typer.Context,
    session: Annotated[
        Path | None,
        typer.Option("--session", "-s", help="Open the wizard on a saved session (path or name)."),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Open the wizard prefilled with the built-in demo.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Open the wizard: model, layers, data, training, review, then live loss panels."""
    if version:
        from lorawiz import __version__

        typer.echo(f"lorawiz {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is not None:
        return
    from lorawiz.commands.wizard import open_wizard

    open_wizard(session=session, demo=demo)


@app.command()
@user_errors
def inspect(
    model: Annotated[str, typer.Argument(help='A local folder, a hub id, or "demo".')],
    r: Annotated[int, typer.Option("--r", help="LoRA rank.")] = 8,
    alpha: Annotated[float, typer.Option("--alpha", help="LoRA alpha.")] = 16,
    targets: Annotated[
        str,
        typer.Option(help='"all-linear" or comma-separated module names, e.g. q_proj,v_proj.'),
    ] = "all-linear",
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Allow the model's own Python code.")
    ] = False,
) -> None:
    """Show every linear layer LoRA can adapt and the exact trainable share."""
    from lorawiz.commands.inspect import run_inspect

    run_inspect(
        model,
        r=r,
        alpha=alpha,
        targets=targets,
        json_out=json_out,
        trust_remote_code=trust_remote_code,
    )


@app.command()
@user_errors
def train(
    session: Annotated[str, typer.Argument(help="A session .toml file or a saved session name.")],
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Where to write the run (default: data dir).")
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Train in the background; print the run dir.")
    ] = False,
) -> None:
    """Train a session: QLoRA SFT or DPO, in the foreground with a live view, or detached."""
    from lorawiz.commands.train import run_train

    raise typer.Exit(run_train(session, run_dir=run_dir, detach=detach))


@app.command()
@user_errors
def runs(
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List runs, newest first, with their status."""
    from lorawiz.commands.runs import run_list

    run_list(json_out=json_out)


@app.command()
@user_errors
def monitor(
    run_dir: Annotated[
        Path | None, typer.Argument(help="A run directory; without it, pick from the runs list.")
    ] = None,
) -> None:
    """Open the live loss panels on a run (quitting never stops the run)."""
    from lorawiz.commands.wizard import open_monitor

    open_monitor(run_dir)


@app.command()
@user_errors
def stop(run_dir: Annotated[Path, typer.Argument(help="The run directory to stop.")]) -> None:
    """Stop a run gracefully: it finishes the step, saves a checkpoint and the adapter."""
    from lorawiz.commands.runs import run_stop

    run_stop(run_dir)


@app.command()
@user_errors
def resume(
    run_dir: Annotated[Path, typer.Argument(help="A stopped or crashed run directory.")],
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Resume in the background; print the run dir.")
    ] = False,
) -> None:
    """Continue a stopped or crashed run from its last checkpoint, in the same directory."""
    from lorawiz.commands.train import run_resume

    raise typer.Exit(run_resume(run_dir, detach=detach))


@app.command()
@user_errors
def sessions(
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List saved sessions (the names `lorawiz train NAME` accepts)."""
    from lorawiz.commands.runs import run_sessions

    run_sessions(json_out=json_out)


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `lorawiz runs | head`
        sys.stderr.close()


if __name__ == "__main__":
    main()
