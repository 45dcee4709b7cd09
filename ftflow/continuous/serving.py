"""Asking deployments the evaluation questions of the continuous pipeline.

Answers come from the chat completions API of a deployment, one request per evaluation
example (its prompt messages, as given). Unlike the smoke test, a failed request raises: a
deployment that cannot answer must not be scored as if it had answered badly, or a flaky
stable deployment would let any candidate win. Errors are `ftflow.azure.errors` types, so the
tasks retry only the transient ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai

from ftflow.azure.errors import from_openai
from ftflow.evaluation import EvalExample

__all__ = ["ask_all"]


def ask_all(
    client: openai.OpenAI,
    deployment: str,
    examples: Sequence[EvalExample],
    *,
    timeout: float,
    temperature: float | None = 0.0,
) -> list[str]:
    """``deployment``'s answer to every example, in order; the first failure raises."""
    answers: list[str] = []
    asking = client.with_options(timeout=timeout)
    options: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
    for number, example in enumerate(examples, start=1):
        try:
            completion = asking.chat.completions.create(
                model=deployment,
                messages=[dict(message) for message in example.messages],  # type: ignore[misc]
                **options,
            )
        except openai.OpenAIError as error:
            action = f"asking deployment {deployment!r} evaluation example {number}"
            raise from_openai(error, action) from error
        text = completion.choices[0].message.content if completion.choices else None
        answers.append(text or "")
    return answers
