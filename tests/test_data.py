"""core/data: sources, format detection, validation errors, trl rows, token-length stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lorawiz.core.data import (
    DataPreview,
    TokenStats,
    detect_format,
    length_stats,
    load_rows,
    preview,
    token_length_stats,
    training_dataset,
)
from lorawiz.core.data_formats import ALPACA_PROMPT, ALPACA_PROMPT_NO_INPUT
from lorawiz.core.errors import DataError, LorawizError

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("columns", "method", "expected"),
    [
        (["instruction", "input", "output"], "sft", "alpaca"),
        (["instruction", "output"], "sft", "alpaca"),
        (["messages"], "sft", "messages"),
        (["messages", "id"], "sft", "messages"),
        (["prompt", "completion"], "sft", "prompt-completion"),
        (["text"], "sft", "text"),
        (["text", "meta"], "sft", "text"),
        (["prompt", "chosen", "rejected"], "dpo", "preference"),
        (["prompt", "chosen", "rejected", "score"], "dpo", "preference"),
    ],
)
def test_detect_format(columns: list[str], method: str, expected: str) -> None:
    assert detect_format(columns, method) == expected


def test_detect_format_names_found_and_needed_columns() -> None:
    with pytest.raises(DataError) as err:
        detect_format(["question", "answer"], "sft", source="qa.jsonl")
    message = str(err.value)
    assert message.startswith("qa.jsonl: found columns answer, question;")
    assert "instruction/input/output" in message and "messages" in message and "text" in message
    with pytest.raises(DataError, match="found columns answer, question; DPO data needs prompt"):
        detect_format(["question", "answer"], "dpo")


def test_detect_format_points_to_the_other_method() -> None:
    with pytest.raises(DataError, match="use method dpo"):
        detect_format(["prompt", "chosen", "rejected"], "sft")
    with pytest.raises(DataError, match="use method sft"):
        detect_format(["instruction", "input", "output"], "dpo")
    with pytest.raises(DataError, match="no prompt column"):
        detect_format(["chosen", "rejected"], "dpo")


# ---------------------------------------------------------------------------- sources


@pytest.mark.parametrize(
    ("source", "method", "fmt", "rows"),
    [
        ("alpaca.jsonl", "sft", "alpaca", 3),
        ("messages.jsonl", "sft", "messages", 2),
        ("prompt_completion.csv", "sft", "prompt-completion", 2),
        ("preference.json", "dpo", "preference", 2),
        ("preference_chat.jsonl", "dpo", "preference", 1),
        ("stats_text.jsonl", "sft", "text", 5),
    ],
)
def test_preview_of_each_format(source: str, method: str, fmt: str, rows: int) -> None:
    result = preview(fixture(source), method, n=1)
    assert isinstance(result, DataPreview)
    assert (result.format, result.num_rows, len(result.rows)) == (fmt, rows, 1)
    assert result.source == fixture(source) and result.method == method
    assert set(result.rows[0]) == set(result.columns)


def test_demo_datasets_preview() -> None:
    sft = preview("demo-sft", "sft")
    assert sft.format == "alpaca" and sft.num_rows >= 500 and len(sft.rows) == 5
    assert sft.columns == ("instruction", "input", "output")
    dpo = preview("demo-dpo", "dpo", n=2)
    assert dpo.format == "preference" and dpo.num_rows >= 300
    assert dpo.columns == ("prompt", "chosen", "rejected")


def test_csv_keeps_empty_cells_as_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("instruction,input,output\nSay hi.,,hi\n", encoding="utf-8")
    rows = training_dataset(str(path), "sft")
    assert rows[0] == {
        "prompt": ALPACA_PROMPT_NO_INPUT.format(instruction="Say hi."),
        "completion": "hi",
    }


def test_parquet_and_columnar_json(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a b", "c"]}), tmp_path / "t.parquet")
    assert preview(str(tmp_path / "t.parquet"), "sft").format == "text"
    (tmp_path / "cols.json").write_text(json.dumps({"text": ["x", "y", "z"]}), encoding="utf-8")
    assert load_rows(str(tmp_path / "cols.json"))["text"] == ["x", "y", "z"]
    # JSON lines saved with a .json name are read as JSON lines.
    write_jsonl(tmp_path / "lines.json", [{"text": "x"}, {"text": "y"}])
    assert len(load_rows(str(tmp_path / "lines.json"))) == 2


def test_folder_concatenates_files_and_picks_splits(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    write_jsonl(plain / "a.jsonl", [{"text": "1"}, {"text": "2"}])
    write_jsonl(plain / "b.jsonl", [{"text": "3"}])
    assert load_rows(str(plain))["text"] == ["1", "2", "3"]
    with pytest.raises(DataError, match="all the train split"):
        load_rows(str(plain), split="test")

    split = tmp_path / "split"
    split.mkdir()
    write_jsonl(split / "train.jsonl", [{"text": "t"}])
    write_jsonl(split / "test.jsonl", [{"text": "e1"}, {"text": "e2"}])
    assert load_rows(str(split))["text"] == ["t"]
    assert len(load_rows(str(split), split="test")) == 2
    with pytest.raises(DataError, match="no 'validation' split; files are named for test, train"):
        load_rows(str(split), split="validation")

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_jsonl(mixed / "a.jsonl", [{"text": "1"}])
    write_jsonl(mixed / "b.jsonl", [{"prompt": "p", "completion": "c"}])
    with pytest.raises(DataError, match=r"b\.jsonl: columns .* differ from a\.jsonl's"):
        load_rows(str(mixed))


# ---------------------------------------------------------------------------- errors


def test_every_error_is_a_one_line_lorawiz_error(tmp_path: Path) -> None:
    bad_utf8 = tmp_path / "bad.jsonl"
    bad_utf8.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    cases = [
        (fixture("bad_json.jsonl"), "sft", r"bad_json\.jsonl: line 3 is not valid JSON"),
        (str(bad_utf8), "sft", r"bad\.jsonl: line 2 is not UTF-8 text \(byte 0xe9 at column 14\)"),
        (fixture("empty.jsonl"), "sft", r"empty\.jsonl: no rows"),
        (fixture("wrong_columns.jsonl"), "sft", r"found columns answer, question; SFT data needs"),
        (fixture("preference.json"), "sft", r"preference\.json: .*use method dpo"),
        (fixture("alpaca.jsonl"), "dpo", r"alpaca\.jsonl: this is SFT data .*use method sft"),
        (str(tmp_path / "missing.jsonl"), "sft", r"no such file or folder: .*missing\.jsonl"),
        (str(tmp_path / "x.txt"), "sft", r"no such file or folder"),
        (
            "some-user/some-dataset",
            "sft",
            r"cannot load hub dataset 'some-user/some-dataset'.*local",
        ),
        ("demo-sft", "dpo", r"demo-sft: this is SFT data"),
    ]
    for source, method, pattern in cases:
        with pytest.raises(LorawizError, match=pattern) as err:
            training_dataset(source, method)
        assert isinstance(err.value, DataError)
        assert "\n" not in str(err.value), str(err.value)


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text('{"text": "a"}\n["text", "b"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2 is a JSON list, not an object"):
        load_rows(str(path))


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"unsupported file type '\.txt'"):
        load_rows(str(path))


def test_json_document_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": }\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json: line 3 is not valid JSON"):
        load_rows(str(path))
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"version": 1, "data": [{"text": "a"}]}), encoding="utf-8")
    with pytest.raises(DataError, match="its rows may be under 'data'"):
        load_rows(str(nested))


def test_single_file_has_only_train_split() -> None:
    with pytest.raises(DataError, match="only the train split"):
        load_rows("demo-sft", split="test")


def test_bad_values_are_named_by_row(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "a.jsonl",
        [{"instruction": "a", "output": "b"}, {"instruction": "c", "output": None}],
    )
    with pytest.raises(DataError, match=r"a\.jsonl: row 2: 'output' is empty; it must be text"):
        training_dataset(source, "sft")
    chat = write_jsonl(tmp_path / "m.jsonl", [{"messages": "not a conversation"}])
    with pytest.raises(DataError, match=r"row 1: 'messages' must be a list of \{role, content\}"):
        training_dataset(chat, "sft")


def test_mixed_types_in_a_column(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "mixed.jsonl", [{"text": "a", "n": 1}, {"text": "b", "n": 2.5}, {"text": 3}]
    )
    with pytest.raises(DataError, match=r"mixed\.jsonl: line 3: 'text' is int, but line 1 has str"):
        load_rows(source)
    (tmp_path / "mixed.json").write_text(json.dumps([{"text": "a"}, {"text": ["b"]}]))
    with pytest.raises(DataError, match=r"mixed\.json: row 2: 'text' is list, but row 1 has str"):
        load_rows(str(tmp_path / "mixed.json"))


# ---------------------------------------------------------------------------- trl rows


def test_alpaca_becomes_prompt_completion() -> None:
    rows = training_dataset(fixture("alpaca.jsonl"), "sft")
    assert rows.column_names == ["prompt", "completion"]
    assert rows[0]["prompt"] == ALPACA_PROMPT.format(instruction="Add the numbers.", input="2, 3")
    assert rows[0]["prompt"].endswith("### Input:\n2, 3\n\n### Response:\n")
    assert rows[1]["prompt"] == ALPACA_PROMPT_NO_INPUT.format(instruction="Say hello.")
    assert rows[2] == {  # a row without "input" at all
        "prompt": ALPACA_PROMPT_NO_INPUT.format(instruction="Name a colour."),
        "completion": "red",
    }


def test_other_formats_pass_through() -> None:
    chat = training_dataset(fixture("messages.jsonl"), "sft")
    assert chat.column_names == ["messages"]
    assert chat[1]["messages"][2] == {"role": "assistant", "content": "4"}
    pairs = training_dataset(fixture("prompt_completion.csv"), "sft")
    assert pairs[0] == {"prompt": "What is 1 + 1?", "completion": "2"}
    prefs = training_dataset(fixture("preference.json"), "dpo")
    assert prefs.column_names == ["prompt", "chosen", "rejected"]
    assert prefs[1] == {"prompt": "Capital of France?\n", "chosen": "Paris", "rejected": "Lyon"}
    convo = training_dataset(fixture("preference_chat.jsonl"), "dpo")
    assert convo[0]["chosen"] == [{"role": "assistant", "content": "4"}]
    demo = training_dataset("demo-dpo", "dpo")
    assert all(c != r for c, r in zip(demo["chosen"], demo["rejected"], strict=True))


# ---------------------------------------------------------------------------- token stats


def test_length_stats_by_hand() -> None:
    assert length_stats([4, 2, 8, 5, 11], max_length=6) == TokenStats(
        min=2, median=5, p95=11, max=11, truncated=2, rows=5, max_length=6
    )
    # Even count: the lower median; nearest-rank p95 of 1..20 is the 19th value.
    assert length_stats([4, 1, 3, 2], 10).median == 2
    stats = length_stats(list(range(1, 21)), 20)
    assert (stats.p95, stats.truncated) == (19, 0)
    assert length_stats([7], 3) == TokenStats(7, 7, 7, 7, 1, 1, 3)
    with pytest.raises(DataError):
        length_stats([], 10)


@pytest.fixture(scope="module")
def word_tokenizer() -> Any:
    """One token per space-separated word, plus <eos>: lengths are countable by hand."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    vocab = {"[UNK]": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>", unk_token="[UNK]")


def test_token_length_stats_by_hand(word_tokenizer: Any) -> None:
    # Texts of 3, 1, 7, 4 and 10 words, each + <eos>: lengths 4, 2, 8, 5, 11.
    stats = token_length_stats(fixture("stats_text.jsonl"), "sft", word_tokenizer, max_length=6)
    assert stats == TokenStats(min=2, median=5, p95=11, max=11, truncated=2, rows=5, max_length=6)
    # DPO counts prompt + the longer answer + <eos>: max(3+1, 5+1) = 6 and max(4+1, 2+1) = 5.
    dpo = token_length_stats(fixture("stats_dpo.jsonl"), "dpo", word_tokenizer, max_length=5)
    assert dpo == TokenStats(min=5, median=5, p95=6, max=6, truncated=1, rows=2, max_length=5)


def test_token_length_stats_of_conversations_needs_a_chat_template(word_tokenizer: Any) -> None:
    with pytest.raises(DataError, match="no chat template"):
        token_length_stats(fixture("messages.jsonl"), "sft", word_tokenizer, max_length=64)
