"""`ftflow.evaluation`: the metrics with exact values, the evaluation set format, the decision."""

from __future__ import annotations

import json

import pytest

from ftflow.evaluation import (
    EvalExample,
    EvalSetError,
    Scores,
    compare,
    contains,
    exact_match,
    label_scores,
    normalize_answer,
    normalize_label,
    read_eval_set,
    score,
    token_f1,
)


def example(reference: str, question: str = "q?") -> EvalExample:
    return EvalExample(({"role": "user", "content": question},), reference)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The  Cat, sat!", "cat sat"),
        ("An apple a day", "apple day"),
        ("Theory of a thing", "theory of thing"),
        ("  9am–6pm.  ", "9am–6pm"),
        ("", ""),
    ],
)
def test_normalize_answer_follows_squad(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert exact_match("The cat.", "cat") == 1.0
    assert exact_match("a black cat", "the black cat!") == 1.0
    assert exact_match("black cat", "cat") == 0.0


def test_contains_matches_whole_words_only() -> None:
    assert contains("I think it is Paris, France.", "paris") == 1.0
    assert contains("Parisian cafés", "paris") == 0.0
    assert contains("anything", "The.") == 0.0
    assert contains("", "The.") == 1.0


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("the cat sat on the mat", "a cat sat", 2 / 3),  # p = 2/4, r = 2/2
        ("cat cat dog", "cat dog dog", 2 / 3),  # common: cat, dog; p = r = 2/3
        ("completely different", "cat", 0.0),
        ("", "", 1.0),
        ("words", "", 0.0),
        ("The.", "cat", 0.0),
    ],
)
def test_token_f1_exact_values(answer: str, reference: str, expected: float) -> None:
    assert token_f1(answer, reference) == pytest.approx(expected, abs=1e-12)


def test_label_scores_accuracy_and_macro_precision_recall_f1() -> None:
    references = ["pos", "pos", "neg", "neg", "neu"]
    answers = ["pos", "neg", "neg", "neg", "pos"]
    # neg: p 2/3, r 1, f1 0.8; neu: nothing predicted, p 0, r 0, f1 0; pos: p 1/2, r 1/2, f1 1/2
    scores = label_scores(answers, references)
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["precision"] == pytest.approx((2 / 3 + 0 + 0.5) / 3)
    assert scores["recall"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert scores["f1"] == pytest.approx((0.8 + 0 + 0.5) / 3)


def test_labels_compare_case_folded_without_surrounding_punctuation() -> None:
    assert normalize_label("  Positive. ") == "positive"
    assert normalize_label('"Billing  issue"') == "billing issue"
    perfect = label_scores([" Positive.", "NEGATIVE"], ["positive", "negative"])
    assert perfect == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_a_label_never_in_the_references_counts_against_the_one_it_displaced() -> None:
    scores = label_scores(["spam", "b"], ["a", "b"])
    assert scores == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}


def test_score_free_text_averages_each_metric() -> None:
    examples = [example("Paris"), example("a cat sat"), example("blue")]
    answers = ["paris", "the cat sat on the mat", "It is red."]
    scores = score(examples, answers, "free_text")
    assert scores.examples == 3
    assert scores.metrics == pytest.approx(
        {"exact_match": 1 / 3, "contains": 2 / 3, "token_f1": (1 + 2 / 3 + 0) / 3}
    )


def test_score_labels_uses_the_label_metrics() -> None:
    scores = score([example("yes"), example("no")], ["yes", "yes"], "labels")
    assert scores.kind == "labels"
    assert scores.metrics == pytest.approx(
        {"accuracy": 0.5, "precision": 0.25, "recall": 0.5, "f1": 1 / 3}
    )


def test_score_refuses_a_different_number_of_answers() -> None:
    with pytest.raises(ValueError, match="1 answers for 2 examples"):
        score([example("a"), example("b")], ["a"], "free_text")


def free(**metrics: float) -> Scores:
    return Scores("free_text", 10, metrics)


def test_compare_promotes_when_better_by_the_margin() -> None:
    decision = compare(
        free(token_f1=0.75, exact_match=0.5), free(token_f1=0.5, exact_match=0.3), 0.25, "token_f1"
    )
    assert decision.promote
    assert (decision.candidate, decision.baseline, decision.margin) == (0.75, 0.5, 0.25)
    assert decision.reasons == (
        "token_f1 0.7500 vs 0.5000 for the promoted model: +0.2500, at least the margin 0.2500",
        "exact_match 0.5000 vs 0.3000",
    )
    assert decision.summary.startswith("promote: token_f1 0.7500 vs 0.5000")


def test_compare_rejects_an_improvement_below_the_margin() -> None:
    decision = compare(free(token_f1=0.52), free(token_f1=0.5), 0.05, "token_f1")
    assert not decision.promote
    assert decision.reasons[0] == (
        "token_f1 0.5200 vs 0.5000 for the promoted model: +0.0200, less than the margin 0.0500"
    )


def test_compare_never_promotes_a_tie_even_with_a_zero_margin() -> None:
    decision = compare(free(token_f1=0.5), free(token_f1=0.5), 0.0, "token_f1")
    assert not decision.promote
    assert decision.reasons[0].endswith("+0.0000, not better")


def test_compare_rejects_a_worse_candidate() -> None:
    decision = compare(
        free(token_f1=0.2), free(token_f1=0.9), 0.0, "token_f1", baseline_name="served model"
    )
    assert not decision.promote
    assert decision.summary == (
        "reject: token_f1 0.2000 vs 0.9000 for the served model: -0.7000, not better"
    )


def test_compare_without_a_baseline_needs_the_minimum_score() -> None:
    assert compare(free(exact_match=0.4), None, 0.1, "exact_match", min_score=0.4).promote
    refused = compare(free(exact_match=0.3), None, 0.1, "exact_match", min_score=0.4)
    assert not refused.promote
    assert refused.reasons == ("exact_match 0.3000 is below the minimum 0.4000 (no baseline)",)


def test_compare_refuses_unknown_metrics_mixed_kinds_and_negative_margins() -> None:
    with pytest.raises(KeyError, match="no 'f1' score for free_text"):
        compare(free(token_f1=1.0), free(token_f1=0.0), 0.0, "f1")
    labels = Scores("labels", 10, {"f1": 0.5})
    with pytest.raises(ValueError, match="cannot compare labels scores with free_text"):
        compare(labels, free(f1=0.1), 0.0, "f1")
    with pytest.raises(ValueError, match="margin must be 0 or more"):
        compare(free(token_f1=1.0), None, -0.1, "token_f1")


def chat(*messages: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in messages]})


def test_read_eval_set_takes_the_last_assistant_message_as_reference() -> None:
    text = "\n".join(
        [
            chat(("system", "Be brief."), ("user", "Capital of France?"), ("assistant", "Paris")),
            "",
            chat(("user", "Hi"), ("assistant", "Hello"), ("user", "2+2?"), ("assistant", "4")),
        ]
    )
    examples = read_eval_set(text)
    assert [e.reference for e in examples] == ["Paris", "4"]
    assert [e.question for e in examples] == ["Capital of France?", "2+2?"]
    assert [m["role"] for m in examples[1].messages] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "eval.jsonl:2: not valid JSON"),
        ('{"prompt": "x"}', 'eval.jsonl:2: expected {"messages": [...]}'),
        (chat(("user", "only a question")), "eval.jsonl:2: no assistant message"),
        (chat(("user", "q"), ("assistant", " ")), "eval.jsonl:2: the reference (last assistant"),
        (chat(("system", "s"), ("assistant", "a")), "eval.jsonl:2: no user message before"),
    ],
)
def test_read_eval_set_names_the_line_of_each_problem(line: str, message: str) -> None:
    text = chat(("user", "fine"), ("assistant", "yes")) + "\n" + line + "\n"
    with pytest.raises(EvalSetError) as caught:
        read_eval_set(text, "eval.jsonl")
    assert str(caught.value).startswith(message)


def test_read_eval_set_refuses_an_empty_set() -> None:
    with pytest.raises(EvalSetError, match=r"eval\.jsonl: no examples"):
        read_eval_set("\n\n", "eval.jsonl")
