"""`ftflow.continuous.state` and `.request`: the state's transitions, its fit in one Prefect
Variable, and the parameters' rules."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ftflow.continuous import (
    ContinuousRequest,
    ContinuousState,
    LineageEntry,
    NothingToRollBack,
    StateTooLarge,
    fit,
    record_decision,
    record_rollback,
)
from ftflow.continuous.report import lineage_rows

A = "gpt-4o-mini-2024-07-18.ft-" + "a" * 32
B = "gpt-4o-mini-2024-07-18.ft-" + "b" * 32


def entry(event: str, model: str, replaced: str | None = None, **fields: object) -> LineageEntry:
    deployment = "stable" if event != "rejected" else "stable-candidate"
    values: dict[str, object] = {
        "at": "2026-01-01T00:00:00+00:00",
        "event": event,
        "model": model,
        "deployment": deployment,
        "replaced": replaced,
    }
    values.update(fields)
    return LineageEntry.model_validate(values)


def test_a_promotion_records_files_model_and_previous() -> None:
    first = record_decision(ContinuousState(), entry("promoted", A), ["1" * 64], "stable")
    assert (first.deployment, first.promoted, first.previous) == ("stable", A, None)
    assert first.trained == ["1" * 16]
    second = record_decision(
        first, entry("promoted", B, replaced=A), ["2" * 64, "1" * 64], "stable"
    )
    assert (second.promoted, second.previous) == (B, A)
    assert second.trained == ["1" * 16, "2" * 16]
    assert second.promotions() == [A, B]
    assert second.is_trained("2" * 64)


def test_a_rejection_records_the_files_but_promotes_nothing() -> None:
    promoted = record_decision(ContinuousState(), entry("promoted", A), ["1" * 64], "stable")
    rejected = record_decision(promoted, entry("rejected", B), ["3" * 64], "stable")
    assert (rejected.promoted, rejected.previous) == (A, None)
    assert rejected.is_trained("3" * 64)
    assert [e.event for e in rejected.lineage] == ["promoted", "rejected"]
    assert rejected.promotions() == [A]


def test_rollback_restores_previous_once() -> None:
    state = record_decision(ContinuousState(), entry("promoted", A), ["1" * 64], "stable")
    state = record_decision(state, entry("promoted", B, replaced=A), ["2" * 64], "stable")
    rolled = record_rollback(state, "brave-fox")
    assert (rolled.promoted, rolled.previous) == (A, None)
    assert rolled.trained == state.trained
    last = rolled.lineage[-1]
    assert (last.event, last.model, last.replaced, last.run) == ("rolled_back", A, B, "brave-fox")
    with pytest.raises(NothingToRollBack, match="no previous model recorded"):
        record_rollback(rolled, None)


def test_state_round_trips_through_a_variable_value() -> None:
    state = record_decision(ContinuousState(), entry("promoted", A, score=0.5), ["1" * 64], "s")
    value = state.to_variable()
    assert "previous" not in value  # empty fields are left out
    assert ContinuousState.from_variable(value) == state
    assert ContinuousState.from_variable(json.dumps(value)) == state
    assert ContinuousState.from_variable(None) == ContinuousState()


def test_fit_keeps_the_newest_lineage_entries_that_fit() -> None:
    state = ContinuousState(
        promoted=A, lineage=[entry("promoted", A, job=f"ftjob-{i}") for i in range(8)]
    )
    kept = fit(state, keep=5)
    assert [e.job for e in kept.lineage] == [f"ftjob-{i}" for i in range(3, 8)]
    small = fit(state, keep=8, limit=state.size() - 1)
    assert [e.job for e in small.lineage] == [f"ftjob-{i}" for i in range(1, 8)]
    assert small.size() < state.size()


def test_fit_forgets_files_no_longer_present_before_dropping_lineage() -> None:
    hashes = [f"{i:016x}" for i in range(250)]
    lineage = [entry("promoted", A, job=f"ftjob-{i}") for i in range(3)]
    state = ContinuousState(trained=hashes, lineage=lineage)
    assert state.size() >= 5000
    present = [h + "0" * 48 for h in hashes[100:]]  # full hashes of the files still there
    fitted = fit(state, keep=5, present=present)
    assert fitted.trained == hashes[100:]
    assert [e.job for e in fitted.lineage] == ["ftjob-0", "ftjob-1", "ftjob-2"]
    assert fitted.size() < 5000


def test_fit_refuses_a_state_whose_trained_hashes_alone_are_too_large() -> None:
    hashes = [f"{i:016x}" for i in range(300)]
    state = ContinuousState(trained=hashes, lineage=[entry("promoted", A)])
    with pytest.raises(StateTooLarge) as caught:
        fit(state, keep=10, present=hashes)
    # {"trained":[ + 300 quoted hashes of 16 + 299 commas + ],"lineage":[]}
    assert str(caught.value).startswith(
        "the state of 300 trained files needs 5726 characters, over the 5000 a Prefect "
        "Variable holds; move trained files out of the data location"
    )


def test_lineage_rows_mark_the_model_serving() -> None:
    state = record_decision(
        ContinuousState(), entry("promoted", A, score=0.5, metric="token_f1"), [], "stable"
    )
    state = record_decision(state, entry("rejected", B, score=0.1, baseline=0.5), [], "stable")
    rows = lineage_rows(state)
    assert [(r["event"], r["model"], r["score"], r["baseline"]) for r in rows] == [
        ("promoted (serving)", A, "0.5000", ""),
        ("rejected", B, "0.1000", "0.5000"),
    ]


def request(**fields: object) -> ContinuousRequest:
    values: dict[str, object] = {
        "data_location": "/d",
        "eval_file": "/e.jsonl",
        "deployment_name": "support",
    }
    values.update(fields)
    return ContinuousRequest.model_validate(values)


def test_request_derives_the_candidate_name_and_its_fine_tune_request() -> None:
    made = request(n_epochs=2, suffix="v2")
    assert made.candidate == "support-candidate"
    tuned = made.fine_tune_request("/w/train.jsonl", A)
    assert (tuned.base_model, tuned.deployment_name, tuned.n_epochs, tuned.suffix) == (
        A,
        "support-candidate",
        2,
        "v2",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "f1"}, "metric 'f1' does not score free_text; use one of exact_match"),
        ({"eval_kind": "labels"}, "metric 'token_f1' does not score labels"),
        ({"candidate_deployment": "support"}, "the candidate deployment must differ"),
        ({"base_deployment": "support-candidate"}, "the base deployment must differ"),
        ({"variable": "Has Spaces"}, "String should match pattern"),
        ({"margin": 1.5}, "less than or equal to 1"),
        ({"api_key": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_request_refuses_inconsistent_parameters(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request(**fields)
    assert message in str(caught.value)
