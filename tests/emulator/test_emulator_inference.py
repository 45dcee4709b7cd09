"""Chat completions on deployments: data-driven answers, usage, content filters, errors."""

from __future__ import annotations

from typing import Any

import openai
import pytest
import tiktoken
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    COOKING,
    TOPICS,
    Harness,
    chat_tokens,
    cooking,
    error_of,
    geography,
)

QUESTION = [{"role": "user", "content": "Tell me about the glacier please"}]


@pytest.fixture
def deployed(emu: Harness) -> dict[str, Any]:
    """A fine-tuned deployment (geography) and a base deployment."""
    job = emu.train(emu.azure(), geography(), hyperparameters={"n_epochs": 2})
    emu.deploy("ft", job.fine_tuned_model)
    emu.deploy("base", "gpt-4o-mini", "2024-07-18")
    return {"job": job}


def test_fine_tuned_deployment_answers_from_its_training_data(
    emu: Harness, deployed: dict[str, Any]
) -> None:
    client = emu.azure()
    answer = client.chat.completions.create(model="ft", messages=QUESTION)
    assert answer.choices[0].message.content == dict(TOPICS)["glacier"]
    assert answer.model == deployed["job"].fine_tuned_model
    other = client.chat.completions.create(
        model="ft", messages=[{"role": "user", "content": "what about a canyon?"}]
    )
    assert other.choices[0].message.content == dict(TOPICS)["canyon"]


def test_fine_tuned_answer_differs_from_base(emu: Harness, deployed: dict[str, Any]) -> None:
    client = emu.azure()
    tuned = client.chat.completions.create(model="ft", messages=QUESTION)
    base = client.chat.completions.create(model="base", messages=QUESTION)
    assert base.choices[0].message.content != tuned.choices[0].message.content
    assert base.choices[0].message.content not in dict(TOPICS).values()
    assert "glacier" in (base.choices[0].message.content or "")
    assert base.model == "gpt-4o-mini-2024-07-18"


def test_chat_on_v1_with_model_naming_the_deployment(
    emu: Harness, deployed: dict[str, Any]
) -> None:
    answer = emu.v1().chat.completions.create(model="ft", messages=QUESTION)
    assert answer.choices[0].message.content == dict(TOPICS)["glacier"]
    assert emu.requests(method="POST", path="/openai/v1/chat/completions")[0]["status"] == 200


def test_usage_counts_tokens_with_the_real_tokenizer(
    emu: Harness, deployed: dict[str, Any]
) -> None:
    answer = emu.azure().chat.completions.create(model="ft", messages=QUESTION)
    encoding = tiktoken.get_encoding("o200k_base")
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == chat_tokens(encoding, QUESTION)
    assert answer.usage.completion_tokens == len(encoding.encode(dict(TOPICS)["glacier"]))
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_content_filter_fields_as_azure_returns_them(
    emu: Harness, deployed: dict[str, Any]
) -> None:
    raw = emu.azure().chat.completions.with_raw_response.create(model="ft", messages=QUESTION)
    body = raw.http_response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    prompt = body["prompt_filter_results"][0]
    assert prompt["prompt_index"] == 0
    assert prompt["content_filter_results"]["jailbreak"] == {"filtered": False, "detected": False}
    assert prompt["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert set(choice["content_filter_results"]) == {
        "hate",
        "protected_material_code",
        "protected_material_text",
        "self_harm",
        "sexual",
        "violence",
    }


def test_max_tokens_truncates_with_finish_reason_length(
    emu: Harness, deployed: dict[str, Any]
) -> None:
    answer = emu.azure().chat.completions.create(model="ft", messages=QUESTION, max_tokens=3)
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 3


def test_streaming_chat(emu: Harness, deployed: dict[str, Any]) -> None:
    stream = emu.azure().chat.completions.create(
        model="ft",
        messages=QUESTION,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == dict(TOPICS)["glacier"]
    assert chunks[-1].usage is not None


def test_chat_on_missing_deployment_is_404(emu: Harness) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        emu.azure().chat.completions.create(model="ghost", messages=QUESTION)
    assert error_of(raised.value) == {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
    }


def test_chat_on_deployment_still_creating_is_404(emu: Harness) -> None:
    from azure.mgmt.cognitiveservices.models import (
        Deployment,
        DeploymentModel,
        DeploymentProperties,
        Sku,
    )

    emu.arm().deployments.begin_create_or_update(
        emu.group,
        emu.account,
        "soon",
        Deployment(
            sku=Sku(name="Standard", capacity=1),
            properties=DeploymentProperties(
                model=DeploymentModel(format="OpenAI", name="gpt-4o-mini", version="2024-07-18")
            ),
        ),
    )
    with pytest.raises(openai.NotFoundError) as raised:
        emu.v1().chat.completions.create(model="soon", messages=QUESTION)
    assert error_of(raised.value)["code"] == "DeploymentNotFound"
    emu.advance(301)
    assert emu.v1().chat.completions.create(model="soon", messages=QUESTION).choices


def test_chat_without_messages_is_400(emu: Harness, deployed: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        emu.azure().chat.completions.create(model="ft", messages=[])
    assert error_of(raised.value) == {
        "code": "BadRequest",
        "message": "'messages' is a required property and must be a non-empty array.",
        "param": "messages",
    }


def test_continuous_fine_tuning_answers_from_both_datasets(emu: Harness) -> None:
    client = emu.azure()
    parent = emu.train(client, geography(), hyperparameters={"n_epochs": 1})
    child = emu.train(
        client, cooking(), model=parent.fine_tuned_model, hyperparameters={"n_epochs": 1}
    )
    emu.deploy("child", child.fine_tuned_model)
    emu.deploy("parent", parent.fine_tuned_model)
    ask = [{"role": "user", "content": "How do I make risotto?"}]
    assert (
        client.chat.completions.create(model="child", messages=ask).choices[0].message.content
        == dict(COOKING)["risotto"]
    )
    assert (
        client.chat.completions.create(model="child", messages=QUESTION).choices[0].message.content
        == dict(TOPICS)["glacier"]
    )
    assert (
        client.chat.completions.create(model="parent", messages=ask).choices[0].message.content
        != dict(COOKING)["risotto"]
    )


def test_continuous_fine_tuning_from_a_checkpoint_keeps_its_data(emu: Harness) -> None:
    client = emu.azure()
    parent = emu.train(client, geography(), hyperparameters={"n_epochs": 2})
    checkpoint = client.fine_tuning.jobs.checkpoints.list(parent.id).data[1]
    assert checkpoint.fine_tuned_model_checkpoint.endswith(":ckpt-step-12")
    child = emu.train(
        client,
        cooking(),
        model=checkpoint.fine_tuned_model_checkpoint,
        hyperparameters={"n_epochs": 1},
    )
    assert child.status == "succeeded"
    emu.deploy("child", child.fine_tuned_model)
    answer = client.chat.completions.create(model="child", messages=QUESTION)
    assert answer.choices[0].message.content == dict(TOPICS)["glacier"]
