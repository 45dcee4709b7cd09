"""Data for the continuous pipeline's flow tests: ten shop questions, held out and trained on.

Test modules import this as ``_continuous_data`` (pytest puts this folder on ``sys.path``).

The emulator answers a fine-tuned model's chat with the reply of the most similar training
prompt (its own data first, then its ancestors'), so the scores move with the data:

* the evaluation set asks the ten questions; each reference is the shop's answer;
* batch 1 teaches topics 0–4 (model A: 5 of 10 right), batch 2 topics 5–9 (model B, trained
  from A, knows both: 10 of 10);
* the bad batch asks the evaluation questions word for word with contradicting answers: a
  candidate trained on it from B answers all ten wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

SYSTEM = "You are the assistant of Velo, a bicycle shop."

TOPICS: tuple[tuple[str, str, str], ...] = (
    (
        "What are the opening hours of the shop?",
        "When is the shop open during the week?",
        "Velo is open from 9am to 6pm Monday to Saturday.",
    ),
    (
        "How much does a basic bicycle service cost?",
        "What is the price of a standard tune-up?",
        "A basic service costs 49 euros and takes one day.",
    ),
    (
        "Do you rent electric bikes?",
        "Can I hire an e-bike for the weekend?",
        "Electric bikes rent for 35 euros per day, helmet included.",
    ),
    (
        "How long is the warranty on a new frame?",
        "What guarantee comes with a frame?",
        "Every new frame carries a lifetime warranty against defects.",
    ),
    (
        "Can I return a bicycle I bought online?",
        "What is the refund policy for online orders?",
        "Unused bicycles can be returned within 30 days for a full refund.",
    ),
    (
        "Do you fix punctures while I wait?",
        "How quickly can a flat tyre be repaired?",
        "Punctures are repaired in 20 minutes while you wait for 12 euros.",
    ),
    (
        "Where can I park my car near the store?",
        "Is there parking close to the shop?",
        "Free customer parking is behind the building on Mill Lane.",
    ),
    (
        "Do you offer bike fitting sessions?",
        "Can someone adjust my riding position?",
        "A professional bike fitting session lasts 90 minutes and costs 120 euros.",
    ),
    (
        "Which payment methods are accepted?",
        "Can I pay by card or in instalments?",
        "We accept cash, all major cards and interest-free instalments over 12 months.",
    ),
    (
        "Do you sell children's balance bikes?",
        "Are there bikes for toddlers learning to ride?",
        "Balance bikes for ages two to five start at 89 euros.",
    ),
)

WRONG = "Sorry, we closed permanently last year and no longer offer that."


def chat(question: str, answer: str) -> dict[str, object]:
    """One chat example with the shop's system message."""
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write_jsonl(path: Path, records: Sequence[dict[str, object]]) -> Path:
    """Write ``records`` as JSONL; the directory is created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def eval_set(path: Path) -> Path:
    """The held-out evaluation set: each question once, the shop's answer as reference."""
    return write_jsonl(path, [chat(question, answer) for question, _, answer in TOPICS])


def batch(path: Path, topics: range) -> Path:
    """Good data on ``topics``: each question and a paraphrase, with the shop's answer."""
    records = []
    for index in topics:
        question, paraphrase, answer = TOPICS[index]
        records += [chat(question, answer), chat(paraphrase, answer)]
    return write_jsonl(path, records)


def bad_batch(path: Path) -> Path:
    """Ten examples asking the evaluation questions word for word, answered wrongly."""
    return write_jsonl(path, [chat(question, WRONG) for question, _, _ in TOPICS])
