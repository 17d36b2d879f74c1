# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# torch is installed first, pinned, because a looser spec can pull a multi-GB CUDA build.
# Override for an accelerator build, e.g. `make test TORCH="torch==2.13.0 --index-url ..."`.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lorawiz-installed

.PHONY: install demo test lint typecheck pytest bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/lorawiz --demo

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install
	$(BIN)/mypy

pytest: install
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/inspect.py
	$(BIN)/python bench/train_overhead.py
	$(BIN)/python bench/tui_startup.py

screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
