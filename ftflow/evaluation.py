"""Scoring a deployment on a held-out evaluation set, and deciding whether a candidate wins.

Pure core code: no Prefect, no network. The evaluation set is chat JSONL, one example per
line, whose last assistant message is the reference answer; everything before it is the
prompt (`read_eval_set`).

Two kinds of task:

* ``free_text``: ``exact_match``, ``contains`` and ``token_f1``, each the mean over examples,
  with SQuAD's answer normalisation (lower case, punctuation and the articles a/an/the
  removed, whitespace collapsed). ``contains`` is whether the normalised reference occurs in
  the normalised answer on word boundaries; ``token_f1`` is SQuAD's bag-of-tokens F1.
* ``labels``: the answer is a class label (``positive``, ``billing`` …), compared after case
  folding and stripping surrounding whitespace and punctuation. ``accuracy``, and macro
  ``precision``, ``recall`` and ``f1`` over the labels present in the references (a label
  only ever predicted, never a reference, counts against the label it displaced; a class
  with nothing predicted has precision 0). Macro F1 is the mean of the per-label F1s.

`compare` decides: the candidate is promoted when its score on the chosen metric beats the
baseline's by at least the margin (and by more than nothing), or, with no baseline at all,
when it reaches ``min_score``. The reasons say why in numbers.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "FREE_TEXT_METRICS",
    "LABEL_METRICS",
    "METRICS",
    "Decision",
    "EvalExample",
    "EvalSetError",
    "Evaluation",
    "Kind",
    "Metric",
    "Scores",
    "compare",
    "contains",
    "exact_match",
    "example_scores",
    "label_scores",
    "normalize_answer",
    "normalize_label",
    "read_eval_set",
    "score",
    "token_f1",
]

Kind = Literal["free_text", "labels"]
Metric = Literal["exact_match", "contains", "token_f1", "accuracy", "precision", "recall", "f1"]
FREE_TEXT_METRICS: tuple[Metric, ...] = ("exact_match", "contains", "token_f1")
LABEL_METRICS: tuple[Metric, ...] = ("accuracy", "precision", "recall", "f1")
METRICS: dict[Kind, tuple[Metric, ...]] = {"free_text": FREE_TEXT_METRICS, "labels": LABEL_METRICS}
"""The metrics each kind of task is scored on."""

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_LABEL_STRIP = string.punctuation + string.whitespace
_EPSILON = 1e-9


class EvalSetError(ValueError):
    """The evaluation set cannot be used; the message names the line and the problem."""


@dataclass(frozen=True)
class EvalExample:
    """One held-out example: the prompt messages and the reference answer."""

    messages: tuple[Mapping[str, Any], ...]
    reference: str

    @property
    def question(self) -> str:
        """The last user message, for tables."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""


def read_eval_set(text: str, source: str = "evaluation set") -> list[EvalExample]:
    """Parse chat JSONL: each line's last assistant message is its reference answer."""
    examples: list[EvalExample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalSetError(f"{where}: not valid JSON: {error.msg}") from error
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise EvalSetError(f'{where}: expected {{"messages": [...]}} with message objects')
        last = max(
            (i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None
        )
        if last is None:
            raise EvalSetError(f"{where}: no assistant message to use as the reference answer")
        reference = messages[last].get("content")
        if not isinstance(reference, str) or not reference.strip():
            raise EvalSetError(f"{where}: the reference (last assistant message) has no text")
        prompt = tuple(messages[:last])
        if not any(m.get("role") == "user" for m in prompt):
            raise EvalSetError(f"{where}: no user message before the reference answer")
        examples.append(EvalExample(prompt, reference))
    if not examples:
        raise EvalSetError(f"{source}: no examples")
    return examples


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punctuation).split())


def normalize_label(text: str) -> str:
    """A label as compared: case-folded, surrounding whitespace and punctuation stripped."""
    return " ".join(text.casefold().strip(_LABEL_STRIP).split())


def exact_match(answer: str, reference: str) -> float:
    """1.0 when the normalised answer equals the normalised reference, else 0.0."""
    return float(normalize_answer(answer) == normalize_answer(reference))


def contains(answer: str, reference: str) -> float:
    """1.0 when the normalised reference occurs in the normalised answer on word boundaries."""
    found, wanted = normalize_answer(answer), normalize_answer(reference)
    if not wanted:
        return float(not found)
    return float(f" {wanted} " in f" {found} ")


def token_f1(answer: str, reference: str) -> float:
    """SQuAD's token F1 between the normalised answer and reference (bags of words)."""
    predicted, expected = normalize_answer(answer).split(), normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    same = sum((Counter(predicted) & Counter(expected)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def label_scores(answers: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 over the reference labels."""
    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
    if not references:
        raise ValueError("no examples to score")
    predicted = [normalize_label(a) for a in answers]
    expected = [normalize_label(r) for r in references]
    precisions: list[float] = []
    recalls: list[float] = []
    f1s: list[float] = []
    for label in sorted(set(expected)):
        hits = sum(p == e == label for p, e in zip(predicted, expected, strict=True))
        chosen = predicted.count(label)
        precision = hits / chosen if chosen else 0.0
        recall = hits / expected.count(label)
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    correct = sum(p == e for p, e in zip(predicted, expected, strict=True))
    return {
        "accuracy": correct / len(expected),
        "precision": sum(precisions) / len(precisions),
        "recall": sum(recalls) / len(recalls),
        "f1": sum(f1s) / len(f1s),
    }


@dataclass(frozen=True)
class Scores:
    """A deployment's scores on the evaluation set: the kind, the count, each metric."""

    kind: Kind
    examples: int
    metrics: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        if metric not in self.metrics:
            known = ", ".join(self.metrics)
            raise KeyError(f"no {metric!r} score for {self.kind} (scored: {known})")
        return self.metrics[metric]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values, scores rounded to 4 decimals."""
        rounded = {name: round(value, 4) for name, value in self.metrics.items()}
        return {"kind": self.kind, "examples": self.examples, "metrics": rounded}


def example_scores(answer: str, reference: str, kind: Kind) -> dict[str, float]:
    """One example's scores: the free-text metrics, or ``correct`` for a label."""
    if kind == "labels":
        return {"correct": float(normalize_label(answer) == normalize_label(reference))}
    return {
        "exact_match": exact_match(answer, reference),
        "contains": contains(answer, reference),
        "token_f1": token_f1(answer, reference),
    }


def score(examples: Sequence[EvalExample], answers: Sequence[str], kind: Kind) -> Scores:
    """Score ``answers`` (one per example, in order) against the examples' references."""
    if len(answers) != len(examples):
        raise ValueError(f"{len(answers)} answers for {len(examples)} examples")
    if not examples:
        raise ValueError("no examples to score")
    references = [example.reference for example in examples]
    if kind == "labels":
        return Scores(kind, len(examples), label_scores(answers, references))
    totals: dict[str, float] = dict.fromkeys(FREE_TEXT_METRICS, 0.0)
    for answer, reference in zip(answers, references, strict=True):
        for name, value in example_scores(answer, reference, kind).items():
            totals[name] += value
    return Scores(kind, len(examples), {name: t / len(examples) for name, t in totals.items()})


@dataclass(frozen=True)
class Evaluation:
    """What one deployment answered to the evaluation set, and how that scored."""

    deployment: str
    answers: tuple[str, ...]
    scores: Scores


@dataclass(frozen=True)
class Decision:
    """Whether to promote the candidate, on which numbers, and why in words."""

    promote: bool
    metric: str
    candidate: float
    baseline: float | None
    margin: float
    reasons: tuple[str, ...]

    @property
    def summary(self) -> str:
        """One line: the verdict and its first reason."""
        verdict = "promote" if self.promote else "reject"
        return f"{verdict}: {self.reasons[0]}"


def compare(
    candidate: Scores,
    promoted: Scores | None,
    margin: float,
    metric: str,
    *,
    min_score: float = 0.0,
    baseline_name: str = "promoted model",
) -> Decision:
    """Promote when ``candidate`` beats ``promoted`` on ``metric`` by ``margin`` or more.

    Ties never promote, even with a zero margin. With no baseline the candidate must reach
    ``min_score``. The other metrics are listed in the reasons for information only.
    """
    if margin < 0:
        raise ValueError(f"the margin must be 0 or more, got {margin}")
    value = candidate[metric]
    if promoted is None:
        promote = value >= min_score - _EPSILON
        relation = "reaches" if promote else "is below"
        first = f"{metric} {value:.4f} {relation} the minimum {min_score:.4f} (no baseline)"
        return Decision(promote, metric, value, None, margin, (first,))
    if promoted.kind != candidate.kind:
        raise ValueError(f"cannot compare {candidate.kind} scores with {promoted.kind} scores")
    base = promoted[metric]
    delta = value - base
    promote = delta > _EPSILON and delta >= margin - _EPSILON
    if promote:
        first = (
            f"{metric} {value:.4f} vs {base:.4f} for the {baseline_name}: "
            f"{delta:+.4f}, at least the margin {margin:.4f}"
        )
    elif delta > _EPSILON:
        first = (
            f"{metric} {value:.4f} vs {base:.4f} for the {baseline_name}: "
            f"{delta:+.4f}, less than the margin {margin:.4f}"
        )
    else:
        first = (
            f"{metric} {value:.4f} vs {base:.4f} for the {baseline_name}: {delta:+.4f}, not better"
        )
    others = tuple(
        f"{name} {candidate[name]:.4f} vs {promoted[name]:.4f}"
        for name in candidate.metrics
        if name != metric and name in promoted.metrics
    )
    return Decision(promote, metric, value, base, margin, (first, *others))
