"""Reading local data files (.jsonl, .json, .csv, .parquet, or a folder of them) into memory.

Each file is checked here before `datasets` sees it, so a bad line is reported as
"FILE: line N ..." instead of a pyarrow traceback. Everything is read into memory: nothing is
written to a cache folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from lorawiz.core.errors import DataError

SUFFIXES: Final = (".jsonl", ".json", ".csv", ".parquet")
KNOWN_SPLITS: Final = ("train", "validation", "valid", "dev", "test")


def read_text(path: Path) -> str:
    """The file as UTF-8 text; undecodable bytes are reported with their line and column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x} at column "
            f"{column}); save the file as UTF-8"
        ) from None


def _json_rows(path: Path, text: str, lines: list[int] | None = None) -> list[dict[str, Any]]:
    """JSON lines: one object per non-blank line; their line numbers are appended to `lines`."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                "fix that line"
            ) from None
        if not isinstance(value, dict):
            raise DataError(
                f"{path}: line {number} is a JSON {type(value).__name__}, not an object; each "
                'line must be one object such as {"text": "..."}'
            )
        rows.append(value)
        if lines is not None:
            lines.append(number)
    return rows


def _json_document(path: Path, text: str) -> list[dict[str, Any]]:
    """A .json file: a list of objects, a {column: [values]} table, or JSON lines."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several objects: JSON lines with a .json name
            return _json_rows(path, text)
        raise DataError(
            f"{path}: line {exc.lineno} is not valid JSON ({exc.msg} at column {exc.colno}); "
            "fix the file"
        ) from None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise DataError(
                    f"{path}: item {index} of the list is a JSON {type(item).__name__}, not an "
                    "object; give a list of objects"
                )
        return value
    if isinstance(value, dict):
        columns = [v for v in value.values() if isinstance(v, list)]
        if len(columns) == len(value) and len({len(c) for c in columns}) == 1:
            keys = list(value)
            return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
        lists = [k for k, v in value.items() if isinstance(v, list)]
        hint = f" (its rows may be under {lists[0]!r}; save that list alone)" if lists else ""
        raise DataError(
            f"{path}: a JSON object that is not a table of equal-length columns{hint}; give a "
            "list of objects or JSON lines"
        )
    raise DataError(f"{path}: holds a JSON {type(value).__name__}; give a list of objects")


def _from_rows(path: Path, rows: list[dict[str, Any]], lines: list[int] | None = None) -> Any:
    """An in-memory Dataset of `rows`; `lines` (their line numbers) name a bad row."""
    import datasets

    # Dataset.from_list takes its columns from the first row; gather every key so a column that
    # appears later is not silently dropped.
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    table = {column: [row.get(column) for row in rows] for column in columns}
    try:
        return datasets.Dataset.from_dict(table)
    except Exception as exc:  # pyarrow refuses mixed types in one column
        where = _first_mixed(table, lines)
        raise DataError(
            f"{path}: {where or 'a column holds values of different types'} "
            f"({_first_line(exc)}); make each column one type"
        ) from None


def _first_mixed(table: dict[str, list[Any]], lines: list[int] | None) -> str | None:
    """Where a column first changes type: "line 7: 'output' is int, but line 1 has str"."""

    def name(index: int) -> str:
        return f"line {lines[index]}" if lines else f"row {index + 1}"

    for column, values in table.items():
        first: tuple[int, type] | None = None
        for index, value in enumerate(values):
            if value is None:
                continue
            kind = float if type(value) is int else type(value)  # ints and floats mix fine
            if first is None:
                first = (index, kind)
            elif kind is not first[1]:
                return (
                    f"{name(index)}: {column!r} is {type(value).__name__}, but "
                    f"{name(first[0])} has {type(values[first[0]]).__name__}"
                )
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def read_file(path: Path) -> Any:
    """One local file as an in-memory `datasets.Dataset` (possibly empty)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        lines: list[int] = []
        return _from_rows(path, _json_rows(path, read_text(path), lines), lines)
    if suffix == ".json":
        return _from_rows(path, _json_document(path, read_text(path)))
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise DataError(
        f"{path}: unsupported file type {path.suffix or '(none)'!r}; give a "
        f"{', '.join(SUFFIXES)} file"
    )


def _read_csv(path: Path) -> Any:
    import io

    import datasets
    import pandas as pd

    text = read_text(path)
    try:
        # keep_default_na=False: an empty Alpaca "input" stays "" rather than becoming NaN.
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; add a header line and rows") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: not valid CSV ({_first_line(exc)})") from None
    return datasets.Dataset.from_pandas(frame, preserve_index=False)


def _read_parquet(path: Path) -> Any:
    import datasets
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    return datasets.Dataset(table)


def folder_files(folder: Path, split: str) -> list[Path]:
    """The data files of `split` in a folder (searched recursively, sorted).

    Files whose name starts with a split name ("train.jsonl", "test-00001.parquet") belong to
    that split; when no file is named after any split, every file is the train split."""
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise DataError(f"{folder}: no {', '.join(SUFFIXES)} files in this folder")
    named = {p: _split_of(p) for p in files}
    if not any(named.values()):
        if split != "train":
            raise DataError(
                f"{folder}: no file is named after split {split!r}; its files are all the "
                "train split"
            )
        return files
    chosen = [p for p, s in named.items() if s == split]
    if not chosen:
        found = sorted({s for s in named.values() if s})
        raise DataError(f"{folder}: no {split!r} split; files are named for {', '.join(found)}")
    return chosen


def _split_of(path: Path) -> str | None:
    stem = path.name.lower()
    for split in KNOWN_SPLITS:
        if stem.startswith(split) and not stem[len(split) : len(split) + 1].isalpha():
            return split
    return None


def read_folder(folder: Path, split: str) -> Any:
    """Every data file of `split` in the folder, concatenated; columns must agree."""
    import datasets

    parts = []
    first: tuple[Path, list[str]] | None = None
    for path in folder_files(folder, split):
        part = read_file(path)
        if len(part) == 0:
            continue
        if first is None:
            first = (path, list(part.column_names))
        elif set(part.column_names) != set(first[1]):
            raise DataError(
                f"{path}: columns {', '.join(part.column_names)} differ from "
                f"{first[0].name}'s ({', '.join(first[1])}); give files with the same columns"
            )
        parts.append(part)
    if not parts:
        return read_file(folder_files(folder, split)[0])
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
