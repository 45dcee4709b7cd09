"""Figures: token distribution, trainable and billed tokens, epochs, and the cost estimate."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    SYSTEM,
    Example,
    as_json,
    chat_example,
    chat_examples,
    tiktoken_encoding,
    validate,
    write_jsonl,
)

from ftflow.catalog import CATALOG, DEFAULT_TRAINING_PRICES
from ftflow.prices import PriceFileError, load_prices
from ftflow.settings import ValidationSettings
from ftflow.validation import TokenDistribution, ValidationOptions, auto_epochs


def n(text: str) -> int:
    return len(tiktoken_encoding("o200k_base").encode_ordinary(text))


def sized_example(words: int) -> Example:
    """An example whose assistant reply is ``words`` words long."""
    reply = " ".join(f"w{k}" for k in range(words))
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Say {words} words."},
            {"role": "assistant", "content": reply},
        ]
    }


def tokens_of(example: Example) -> int:
    return 3 + sum(3 + n(m["role"]) + n(m["content"]) for m in example["messages"])


@pytest.mark.parametrize("count", [21, 20])
def test_token_distribution_min_median_p95_max(tmp_path: Path, count: int) -> None:
    examples = [sized_example(3 * k + 1) for k in reversed(range(count))]
    report = validate(write_jsonl(tmp_path / "train.jsonl", examples))

    expected = sorted(tokens_of(e) for e in examples)
    assert len(set(expected)) == count  # every example a different length
    tokens = report.files[0].tokens
    assert tokens.examples == count
    assert tokens.minimum == expected[0]
    assert tokens.maximum == expected[-1]
    assert tokens.median == statistics.median(expected)
    assert tokens.p95 == expected[math.ceil(0.95 * count) - 1]  # nearest rank
    assert tokens.total == sum(expected)
    assert tokens.mean == pytest.approx(sum(expected) / count)
    assert report.files[0].trainable_tokens == sum(n(e["messages"][2]["content"]) for e in examples)
    assert report.files[0].messages == 3 * count


def test_token_distribution_of_known_values() -> None:
    distribution = TokenDistribution.of([40, 10, 30, 20])
    assert distribution == TokenDistribution(4, 100, 10, 25.0, 40, 40, 25.0)
    assert TokenDistribution.of([]) == TokenDistribution(0, 0, 0, 0.0, 0, 0, 0.0)
    hundred = TokenDistribution.of(list(range(1, 101)))
    assert (hundred.median, hundred.p95) == (50.5, 95)


def test_examples_with_errors_still_count_in_the_figures(tmp_path: Path) -> None:
    lines: list[Example | str] = list(chat_examples(12))
    lines[3] = "{not json"
    bad = chat_example(20)
    bad["messages"][1]["role"] = "customer"
    lines[5] = bad
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    training = report.files[0]
    assert training.lines == 12
    assert training.tokens.examples == 11  # the unparsable line is no example
    assert training.messages == 33


def test_billed_tokens_are_training_tokens_times_the_given_epochs(tmp_path: Path) -> None:
    examples = chat_examples(30)
    report = validate(write_jsonl(tmp_path / "train.jsonl", examples), epochs=4)

    billing = report.billing
    assert billing is not None
    total = sum(tokens_of(e) for e in examples)
    assert billing.training_tokens == total
    assert billing.epochs == 4
    assert billing.epochs_source == "given"
    assert billing.billed_tokens == 4 * total
    assert billing.usd_per_million == 3.30
    assert billing.estimated_usd == round(4 * total / 1_000_000 * 3.30, 4)


def test_billing_counts_only_the_training_file(tmp_path: Path) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(20))
    validation = write_jsonl(tmp_path / "valid.jsonl", chat_examples(10, start=50))
    report = validate(training, validation=validation, epochs=2)

    assert report.billing is not None
    assert report.billing.training_tokens == report.files[0].tokens.total
    assert report.billing.billed_tokens == 2 * report.files[0].tokens.total


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (0, 3),
        (1, 25),
        (4, 25),
        (5, 20),
        (10, 10),
        (20, 5),
        (33, 3),
        (34, 3),
        (100, 3),
        (8_333, 3),
        (8_334, 2),
        (12_500, 2),
        (12_501, 1),
        (50_000, 1),
    ],
)
def test_auto_epochs_follows_openais_published_rule(examples: int, epochs: int) -> None:
    assert auto_epochs(examples) == epochs


def test_auto_epochs_are_used_and_labelled_an_estimate(tmp_path: Path) -> None:
    report = validate(write_jsonl(tmp_path / "train.jsonl", chat_examples(20)))

    billing = report.billing
    assert billing is not None
    assert billing.epochs == 5
    assert "auto" in billing.epochs_source
    assert "estimate" in billing.epochs_source
    assert billing.billed_tokens == 5 * report.files[0].tokens.total
    assert as_json(report)["stats"]["billing"] == {
        "epochs": 5,
        "epochs_source": billing.epochs_source,
        "training_tokens": report.files[0].tokens.total,
        "billed_tokens": billing.billed_tokens,
        "usd_per_million": 3.30,
        "estimated_usd": billing.estimated_usd,
    }


def test_default_prices_cover_every_catalog_model_that_trains_by_tokens() -> None:
    token_billed = {name for name, facts in CATALOG.items() if "reinforcement" not in facts.methods}
    assert set(DEFAULT_TRAINING_PRICES) == token_billed
    assert all(price > 0 for price in DEFAULT_TRAINING_PRICES.values())


def test_a_fine_tuned_model_is_priced_as_its_base(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    report = validate(path, model="gpt-4.1-mini-2025-04-14.ft-abc123:ckpt-step-40", epochs=1)

    assert report.billing is not None
    assert report.billing.usd_per_million == DEFAULT_TRAINING_PRICES["gpt-4.1-mini-2025-04-14"]


def test_a_model_without_a_price_has_no_cost_estimate(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    options = ValidationOptions(workers=1, prices={})
    report = validate(path, epochs=2, options=options)

    assert report.billing is not None
    assert report.billing.billed_tokens == 2 * report.files[0].tokens.total
    assert report.billing.usd_per_million is None
    assert report.billing.estimated_usd is None


def test_prices_file_from_the_environment_overrides_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(json.dumps({"gpt-4o-mini-2024-07-18": 100, "my-model": 1.5}))
    monkeypatch.setenv("FTFLOW_PRICES_FILE", str(prices_file))

    prices = load_prices(ValidationSettings().prices_file)
    assert prices["gpt-4o-mini-2024-07-18"] == 100.0
    assert prices["my-model"] == 1.5
    assert prices["gpt-4o-2024-08-06"] == DEFAULT_TRAINING_PRICES["gpt-4o-2024-08-06"]

    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    report = validate(path, epochs=3, options=ValidationOptions(workers=1, prices=prices))
    assert report.billing is not None
    assert report.billing.usd_per_million == 100.0
    assert report.billing.estimated_usd == round(
        3 * report.files[0].tokens.total / 1_000_000 * 100, 4
    )


def test_without_a_prices_file_the_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTFLOW_PRICES_FILE", raising=False)
    assert ValidationSettings().prices_file is None
    assert load_prices(None) == dict(DEFAULT_TRAINING_PRICES)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "JSON object"),
        ('{"gpt-4o-mini-2024-07-18": "cheap"}', "non-negative number"),
        ('{"gpt-4o-mini-2024-07-18": -1}', "non-negative number"),
        ('{"gpt-4o-mini-2024-07-18": true}', "non-negative number"),
    ],
)
def test_a_bad_prices_file_is_refused(tmp_path: Path, content: str, fragment: str) -> None:
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(content)
    with pytest.raises(PriceFileError, match=fragment):
        load_prices(prices_file)


def test_a_missing_prices_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match=r"nowhere\.json"):
        load_prices(tmp_path / "nowhere.json")
