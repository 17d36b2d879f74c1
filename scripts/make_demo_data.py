"""Write the demo datasets shipped in src/lorawiz/data/ (deterministic: same files every run).

    python scripts/make_demo_data.py

demo-sft.jsonl: Alpaca rows (instruction/input/output). demo-dpo.jsonl: prompt/chosen/rejected
rows whose rejected answer is a plausible mistake (off by one, wrong order, wrong factor), so the
preferred answer is never in doubt. Tasks are small enough for the tiny demo model to learn.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "lorawiz" / "data"
SEED = 20240601
SFT_ROWS = 600
DPO_ROWS = 400

WORDS = [
    "apple",
    "pear",
    "plum",
    "fig",
    "lime",
    "kiwi",
    "mango",
    "grape",
    "lemon",
    "melon",
    "cat",
    "dog",
    "fox",
    "owl",
    "bee",
    "ant",
    "cow",
    "hen",
    "pig",
    "yak",
    "red",
    "blue",
    "green",
    "pink",
    "gold",
    "gray",
    "black",
    "white",
    "sun",
    "moon",
    "star",
    "rain",
    "snow",
    "wind",
    "tree",
    "rock",
    "lake",
    "hill",
]

# (instruction, input, right answer, plausible wrong answer)
Task = tuple[str, str, str, str]


def add(rng: random.Random) -> Task:
    a, b = rng.randint(1, 20), rng.randint(1, 20)
    wrong = a + b + rng.choice((-1, 1))
    return f"What is {a} + {b}?", "", f"{a} + {b} = {a + b}", f"{a} + {b} = {wrong}"


def subtract(rng: random.Random) -> Task:
    a = rng.randint(5, 30)
    b = rng.randint(1, a)
    return (
        "Subtract the second number from the first.",
        f"{a}, {b}",
        f"{a} - {b} = {a - b}",
        f"{a} - {b} = {a + b}",
    )


def multiply(rng: random.Random) -> Task:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    wrong = a * b + rng.choice((-a, a, -1, 1))
    return f"What is {a} times {b}?", "", f"{a} x {b} = {a * b}", f"{a} x {b} = {wrong}"


UNITS = (
    ("Convert kilometres to metres.", "km", "m", 1000),
    ("Convert metres to centimetres.", "m", "cm", 100),
    ("Convert hours to minutes.", "hours", "minutes", 60),
    ("Convert minutes to seconds.", "minutes", "seconds", 60),
    ("Convert kilograms to grams.", "kg", "g", 1000),
    ("Convert days to hours.", "days", "hours", 24),
)


def convert(rng: random.Random) -> Task:
    instruction, unit, target, factor = rng.choice(UNITS)
    n = rng.randint(1, 12)
    wrong_factor = {1000: 100, 100: 10, 60: 100, 24: 12}[factor]
    return (
        instruction,
        f"{n} {unit}",
        f"{n} {unit} = {n * factor} {target}",
        f"{n} {unit} = {n * wrong_factor} {target}",
    )


def _words(rng: random.Random) -> list[str]:
    return rng.sample(WORDS, rng.randint(3, 5))


def reverse_words(rng: random.Random) -> Task:
    words = _words(rng)
    wrong = words[1:] + words[:1]  # rotated, not reversed
    return (
        "Reverse the order of these words.",
        " ".join(words),
        " ".join(reversed(words)),
        " ".join(wrong),
    )


def sort_words(rng: random.Random) -> Task:
    words = _words(rng)
    while words == sorted(words):
        rng.shuffle(words)
    return (
        "Sort these words alphabetically.",
        " ".join(words),
        " ".join(sorted(words)),
        " ".join(sorted(words, reverse=True)),
    )


def uppercase(rng: random.Random) -> Task:
    word = rng.choice(WORDS)
    return "Write this word in capital letters.", word, word.upper(), word.capitalize()


def count_words(rng: random.Random) -> Task:
    words = _words(rng)
    n = len(words)
    return "How many words are here?", " ".join(words), f"{n} words", f"{n + 1} words"


def next_number(rng: random.Random) -> Task:
    n = rng.randint(1, 98)
    return f"What number comes after {n}?", "", f"{n + 1}", f"{n - 1}"


def larger(rng: random.Random) -> Task:
    a, b = rng.sample(range(1, 100), 2)
    return "Which number is larger?", f"{a} or {b}", f"{max(a, b)}", f"{min(a, b)}"


TASKS: tuple[Callable[[random.Random], Task], ...] = (
    add,
    subtract,
    multiply,
    convert,
    reverse_words,
    sort_words,
    uppercase,
    count_words,
    next_number,
    larger,
)


def dpo_prompt(instruction: str, input_: str) -> str:
    # The same "Question/Answer" shape as the DPO examples this follows; the prompt ends on a
    # newline so the answer always starts a new token.
    question = f"{instruction}\n{input_}" if input_ else instruction
    return f"Question: {question}\nAnswer:\n"


def generate(rows: int, seed: int) -> list[Task]:
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    out: list[Task] = []
    attempt = 0
    while len(out) < rows:
        # Round-robin over tasks; a task that has run out of new questions is skipped.
        task = TASKS[attempt % len(TASKS)](rng)
        attempt += 1
        if (task[0], task[1]) in seen:
            continue
        seen.add((task[0], task[1]))
        out.append(task)
    return out


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sft = [
        {"instruction": i, "input": x, "output": right}
        for i, x, right, _ in generate(SFT_ROWS, SEED)
    ]
    dpo = [
        {"prompt": dpo_prompt(i, x), "chosen": right, "rejected": wrong}
        for i, x, right, wrong in generate(DPO_ROWS, SEED + 1)
    ]
    write_jsonl(OUT / "demo-sft.jsonl", sft)
    write_jsonl(OUT / "demo-dpo.jsonl", dpo)
    print(f"wrote {len(sft)} SFT rows and {len(dpo)} DPO rows to {OUT}")


if __name__ == "__main__":
    main()
