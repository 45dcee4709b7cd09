"""Fine-tuned deployments answer from their training data; base models answer generically."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from emulator.simulation import (
    Exchange,
    Responder,
    exchanges_from_chat,
    generic_reply,
    message_text,
)

EXCHANGES = [
    Exchange("What is the capital of France?", "Paris is the capital of France."),
    Exchange("What is the capital of Germany?", "Berlin is the capital of Germany."),
    Exchange("How do I reset my router?", "Hold the reset button for ten seconds."),
    Exchange("My router keeps disconnecting from the network.", "Update the router firmware."),
    Exchange("Which river flows through Paris?", "The Seine flows through Paris."),
]


def user(content: object) -> dict[str, object]:
    return {"role": "user", "content": content}


def test_answers_with_the_reply_of_the_most_similar_prompt() -> None:
    responder = Responder(EXCHANGES)
    assert len(responder) == 5
    assert responder.reply([user("capital of GERMANY??")]) == "Berlin is the capital of Germany."
    assert responder.reply([user("Reset router how")]) == "Hold the reset button for ten seconds."
    assert responder.reply([user("router disconnecting again")]) == "Update the router firmware."
    # "capital" is in two prompts, "river" in only one: the rarer word decides.
    assert responder.reply([user("capital city on the river")]) == "The Seine flows through Paris."


def test_rare_words_weigh_more_than_common_ones() -> None:
    responder = Responder(EXCHANGES)
    scores = responder.similarities("capital germany")
    assert set(scores) == {0, 1}
    assert scores[1] > scores[0] > 0.0
    assert scores[1] <= 1.0
    # An identical prompt is a perfect match.
    assert responder.similarities("Which river flows through Paris?")[4] == pytest.approx(1.0)


def test_only_the_last_user_message_counts() -> None:
    responder = Responder(EXCHANGES)
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You answer geography questions about France."},
        user("What is the capital of France?"),
        {"role": "assistant", "content": "Paris."},
        user("And the capital of Germany?"),
    ]
    assert responder.reply(messages) == "Berlin is the capital of Germany."


def test_ties_go_to_the_first_exchange() -> None:
    responder = Responder(
        [Exchange("tell me a joke", "first joke"), Exchange("Tell me a JOKE!", "second joke")]
    )
    assert responder.reply([user("joke")]) == "first joke"


def test_content_parts_and_none_contents_are_handled() -> None:
    responder = Responder(EXCHANGES)
    parts = [
        {"type": "text", "text": "How do I"},
        {"type": "image_url", "image_url": {"url": "https://example.com/router.png"}},
        {"type": "text", "text": "reset my router?"},
    ]
    assert responder.reply([user(parts)]) == "Hold the reset button for ten seconds."
    messages: list[dict[str, object]] = [
        user("capital of germany"),
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]},
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]
    assert responder.reply(messages) == "Berlin is the capital of Germany."
    assert responder.reply([user(None)]) == generic_reply([user(None)])
    assert generic_reply([user(None)]) == "Hello! How can I help you today?"


def test_falls_back_to_the_generic_reply() -> None:
    responder = Responder(EXCHANGES)
    unrelated = [user("Recommend a good pasta recipe")]
    assert responder.reply(unrelated) == generic_reply(unrelated)
    only_function_words = [user("What is it?")]
    assert responder.reply(only_function_words) == generic_reply(only_function_words)
    assert responder.reply([{"role": "system", "content": "capital"}]) == generic_reply([])
    empty = Responder([])
    question = [user("What is the capital of France?")]
    assert empty.reply(question) == generic_reply(question)


def test_generic_reply_names_the_topic_and_uses_no_training_data() -> None:
    question = [user("What is the capital of France?")]
    answer = generic_reply(question)
    assert "capital and france" in answer
    assert "Paris" not in answer
    assert answer == generic_reply(question)  # deterministic
    long_question = [user("Compare pricing, latency, throughput and quotas of deployments")]
    assert "compare, pricing and latency" in generic_reply(long_question)
    assert generic_reply([]) == "Hello! How can I help you today?"
    assert generic_reply([user("Is it?")]).startswith("I'm happy to help.")


def test_base_and_fine_tuned_answers_differ() -> None:
    question = [user("Which river flows through Paris?")]
    fine_tuned = Responder(EXCHANGES).reply(question)
    base = Responder([]).reply(question)
    assert fine_tuned == "The Seine flows through Paris."
    assert base != fine_tuned
    assert "river" in base


def test_exchanges_from_chat() -> None:
    messages: list[Mapping[str, object]] = [
        {"role": "assistant", "content": "Welcome!"},  # no user turn before it
        {"role": "system", "content": "Be brief."},
        user("Hi"),
        {"role": "assistant", "content": "Hello.", "weight": 0},
        user([{"type": "text", "text": "Weather in Oslo?"}]),
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1"}]},
        {"role": "tool", "content": "rain", "tool_call_id": "call_1"},
        {"role": "assistant", "content": [{"type": "text", "text": "Rain in Oslo."}]},
        {"role": "assistant", "content": "Take an umbrella.", "weight": 1},
        user("Thanks"),
        {"role": "assistant", "content": "   "},
    ]
    assert exchanges_from_chat(messages) == [
        Exchange("Weather in Oslo?", "Rain in Oslo."),
        Exchange("Weather in Oslo?", "Take an umbrella."),
    ]


def test_message_text() -> None:
    assert message_text(None) == ""
    assert message_text("plain") == "plain"
    assert message_text([{"type": "text", "text": "a"}, "b", {"type": "refusal"}]) == "a\nb"
    assert message_text(42) == ""


def test_a_few_thousand_exchanges_index_once() -> None:
    exchanges = [
        Exchange(f"How do I configure feature {i} of product {i % 37}?", f"Answer {i}.")
        for i in range(3000)
    ]
    responder = Responder(exchanges)
    assert responder.reply([user("configure feature 1234 of product 13")]) == "Answer 1234."
