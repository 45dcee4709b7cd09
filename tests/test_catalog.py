"""The model catalog: one table of facts per fine-tunable model, and fine-tuned ids."""

from __future__ import annotations

import pytest

from ftflow.catalog import (
    CATALOG,
    DEFAULT_TRAINING_PRICES,
    UnknownModelError,
    base_model_of,
    resolve_model,
)

# Azure OpenAI fine-tuning docs: encoding, training example context length, methods.
EXPECTED = {
    "gpt-4o-mini-2024-07-18": ("o200k_base", 65_536, ("supervised",)),
    "gpt-4o-2024-08-06": ("o200k_base", 65_536, ("supervised", "dpo")),
    "gpt-4.1-2025-04-14": ("o200k_base", 65_536, ("supervised", "dpo")),
    "gpt-4.1-mini-2025-04-14": ("o200k_base", 65_536, ("supervised", "dpo")),
    "gpt-4.1-nano-2025-04-14": ("o200k_base", 32_768, ("supervised",)),
    "o4-mini-2025-04-16": ("o200k_base", 65_536, ("reinforcement",)),
    "gpt-35-turbo-0125": ("cl100k_base", 16_385, ("supervised",)),
    "gpt-35-turbo-1106": ("cl100k_base", 16_385, ("supervised",)),
}


def test_catalog_holds_exactly_the_supported_models() -> None:
    assert set(CATALOG) == set(EXPECTED)


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_every_catalog_model_resolves_to_its_facts(model: str) -> None:
    facts = resolve_model(model)

    assert facts.name == model
    assert (facts.encoding, facts.max_example_tokens, facts.methods) == EXPECTED[model]
    assert base_model_of(model) == model


@pytest.mark.parametrize("base", sorted(EXPECTED))
@pytest.mark.parametrize(
    "suffix",
    [
        ".ft-0e208cf33a6a466994aff31a08aba678",
        ".ft-ABCDEF0123",
        ".ft-0e208cf33a6a466994aff31a08aba678:ckpt-step-10",
        ".ft-abc123:ckpt-step-1200",
    ],
)
def test_a_fine_tuned_id_resolves_to_its_base(base: str, suffix: str) -> None:
    model = base + suffix
    assert base_model_of(model) == base
    assert resolve_model(model) is CATALOG[base]


def test_a_model_fine_tuned_from_a_fine_tuned_model_resolves_to_the_base() -> None:
    model = "gpt-4.1-2025-04-14.ft-aaa111.ft-bbb222"
    assert base_model_of(model) == "gpt-4.1-2025-04-14"


@pytest.mark.parametrize(
    ("alias", "base"),
    [
        ("gpt-35-turbo (0125)", "gpt-35-turbo-0125"),
        ("gpt-3.5-turbo-1106", "gpt-35-turbo-1106"),
        ("  gpt-4o-2024-08-06  ", "gpt-4o-2024-08-06"),
    ],
)
def test_other_spellings_resolve(alias: str, base: str) -> None:
    assert resolve_model(alias).name == base


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4",
        "gpt-4o",  # a family, not a fine-tunable version
        "gpt-4o-mini-2024-07-18.ft-xyz",  # not hex
        "gpt-4o-mini-2024-07-18.ft-",
        "davinci-002.ft-abc123",
        "",
    ],
)
def test_an_unknown_model_is_refused_with_the_known_ones(model: str) -> None:
    with pytest.raises(UnknownModelError) as raised:
        resolve_model(model)

    message = str(raised.value)
    assert repr(model) in message
    assert raised.value.model == model
    for known in EXPECTED:
        assert known in message
    assert "<base>.ft-<hex>" in message


def test_prices_are_only_for_catalog_models() -> None:
    assert set(DEFAULT_TRAINING_PRICES) <= set(CATALOG)
