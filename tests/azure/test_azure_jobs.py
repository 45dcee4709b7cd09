"""Job identity (the seed derived from the inputs), the create request per API version and
method, and bounded waits: the pieces that keep re-runs from paying for a second job."""

from __future__ import annotations

from openai.types.fine_tuning import FineTuningJob

from ftflow.azure.jobs import JobSpec
from ftflow.azure.waiting import Backoff


def spec(**overrides: object) -> JobSpec:
    fields: dict[str, object] = {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": "file-1",
        "validation_file": "file-2",
        "suffix": "support",
        "hyperparameters": {"n_epochs": 3},
    }
    fields.update(overrides)
    return JobSpec(**fields)  # type: ignore[arg-type]


def job(**fields: object) -> FineTuningJob:
    base: dict[str, object] = {
        "id": "ftjob-1",
        "created_at": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "object": "fine_tuning.job",
        "organization_id": "",
        "result_files": [],
        "status": "running",
        "training_file": "file-1",
        "validation_file": "file-2",
        "seed": spec().effective_seed(),
        "hyperparameters": {"n_epochs": 3},
        "suffix": "support",
    }
    base.update(fields)
    return FineTuningJob.model_validate(base)


def test_derived_seed_is_stable_and_depends_on_every_input() -> None:
    seed = spec().effective_seed()
    assert seed == spec().effective_seed()
    assert 0 <= seed < 2**31
    variants = [
        spec(model="gpt-4.1-2025-04-14"),
        spec(training_file="file-9"),
        spec(validation_file=None),
        spec(suffix="other"),
        spec(method="dpo"),
        spec(hyperparameters={"n_epochs": 4}),
    ]
    assert all(v.effective_seed() != seed for v in variants)


def test_given_seed_is_used_as_is() -> None:
    assert spec(seed=42).effective_seed() == 42
    assert spec(seed=42).request("2025-04-01-preview")["seed"] == 42


def test_supervised_request_per_api_version() -> None:
    preview = spec(training_type="Standard").request("2025-04-01-preview")
    assert preview["method"] == {"type": "supervised"}
    assert preview["hyperparameters"] == {"n_epochs": 3}
    assert preview["extra_body"] == {"trainingType": "Standard"}
    ga = spec().request("2024-10-21")
    assert "method" not in ga
    assert "extra_body" not in ga


def test_dpo_request_carries_hyperparameters_under_the_method() -> None:
    body = spec(method="dpo", hyperparameters={"beta": 0.1}).request("2025-04-01-preview")
    assert body["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}
    assert "hyperparameters" not in body


def test_a_job_matches_only_the_spec_it_was_made_from() -> None:
    assert spec().matches(job())
    assert not spec().matches(job(training_file="file-other"))
    assert not spec().matches(job(seed=1))
    assert not spec().matches(job(suffix="else"))
    assert not spec(validation_file=None).matches(job())


def test_backoff_grows_to_its_maximum_and_ends_at_the_deadline() -> None:
    now = [0.0]
    delays = []
    for delay in Backoff(initial=1.0, factor=2.0, maximum=5.0).delays(20.0, lambda: now[0]):
        delays.append(delay)
        now[0] += delay
    assert delays[:4] == [1.0, 2.0, 4.0, 5.0]
    assert sum(delays) == 20.0
    assert delays[-1] == 0.0


def test_backoff_never_waits_longer_than_its_maximum__even_the_first_time() -> None:
    now = [0.0]
    delays = []
    for delay in Backoff(initial=1.0, factor=1.5, maximum=0.5).delays(2.0, lambda: now[0]):
        delays.append(delay)
        now[0] += delay
    assert delays == [0.5, 0.5, 0.5, 0.5, 0.0]


def test_backoff_never_sleeps_past_the_deadline() -> None:
    now = [0.0]
    schedule = Backoff(initial=7.0, factor=1.0, maximum=7.0).delays(10.0, lambda: now[0])
    assert next(schedule) == 7.0
    now[0] = 7.0
    assert next(schedule) == 3.0
    now[0] = 10.0
    assert next(schedule) == 0.0
    assert next(schedule, None) is None
