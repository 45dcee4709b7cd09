"""Training files as the trainer sees them: tokens (the model's real tokenizer), which tokens
are trained on, token counts for billing, and the prompt/reply exchanges a deployment answers
from.

Encodings are read from ``TIKTOKEN_CACHE_DIR`` if set, else ``<sys.prefix>/share/ftflow/tiktoken``;
there is no download and no estimate: without the encoding files, loading fails with a message
saying where they were looked for.

Token counts follow OpenAI's published chat counting rule: 3 tokens of framing per message, the
tokens of each field (role, content, name), 1 more for a name, 3 to prime the reply; tool
definitions and tool calls count as their JSON text.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.simulation.responder import Exchange, exchanges_from_chat, message_text
from emulator.simulation.training import TrainingExample

__all__ = [
    "ENCODING_URLS",
    "ParsedFile",
    "TokenizerUnavailable",
    "count_chat_tokens",
    "encoding_dir",
    "get_encoding",
    "parse_training_file",
]

ENCODING_URLS: Mapping[str, str] = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}

_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {}


class TokenizerUnavailable(RuntimeError):
    """The tokenizer encoding files are not where the emulator looks for them."""


def encoding_dir() -> Path:
    """Where encodings are read from: ``$TIKTOKEN_CACHE_DIR``, else the environment's
    ``<prefix>/share/ftflow/tiktoken``."""
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(sys.prefix) / "share" / "ftflow" / "tiktoken"


def get_encoding(name: str) -> Any:
    """The tiktoken encoding ``name``, loaded once, only from local files."""
    with _LOCK:
        if name in _CACHE:
            return _CACHE[name]
        url = ENCODING_URLS.get(name)
        if url is None:
            raise TokenizerUnavailable(f"unknown encoding {name!r}")
        directory = encoding_dir()
        expected = directory / hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - tiktoken's key
        if not expected.is_file():
            raise TokenizerUnavailable(
                f"tokenizer encoding {name!r} not found at {expected}; set TIKTOKEN_CACHE_DIR to "
                "a directory holding the encodings (`ftflow tokenizers install` puts them in "
                f"{Path(sys.prefix) / 'share' / 'ftflow' / 'tiktoken'})"
            )
        os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
        import tiktoken  # noqa: PLC0415 - heavy, and only after the cache dir is set

        encoding = tiktoken.get_encoding(name)
        _CACHE[name] = encoding
        return encoding


def _text_of(value: object) -> str:
    if isinstance(value, str):
        return value
    return message_text(value)


def count_chat_tokens(
    encoding: Any, messages: Sequence[Mapping[str, Any]], tools: object = None
) -> int:
    """Tokens of a chat request or example under the published counting rule."""
    total = 3
    if tools:
        total += len(encoding.encode_ordinary(json.dumps(tools)))
    for message in messages:
        total += 3
        total += len(encoding.encode_ordinary(str(message.get("role", ""))))
        total += len(encoding.encode_ordinary(_text_of(message.get("content"))))
        if message.get("name"):
            total += 1 + len(encoding.encode_ordinary(str(message["name"])))
        if message.get("tool_calls"):
            total += len(encoding.encode_ordinary(json.dumps(message["tool_calls"])))
        if message.get("function_call"):
            total += len(encoding.encode_ordinary(json.dumps(message["function_call"])))
    return total


def _trained(message: Mapping[str, Any]) -> bool:
    weight = message.get("weight")
    return message.get("role") == "assistant" and weight != 0


def _example(
    encoding: Any, messages: Sequence[Mapping[str, Any]], tools: object
) -> TrainingExample:
    tokens: list[int] = []
    trainable: list[bool] = []
    if tools:
        head = encoding.encode_ordinary(json.dumps(tools))
        tokens += head
        trainable += [False] * len(head)
    for message in messages:
        header = encoding.encode_ordinary(f"{message.get('role', '')}\n")
        tokens += header
        trainable += [False] * len(header)
        text = _text_of(message.get("content"))
        if message.get("tool_calls"):
            text += json.dumps(message["tool_calls"])
        body = encoding.encode_ordinary(text + "\n")
        tokens += body
        trainable += [_trained(message)] * len(body)
    return TrainingExample(tokens=tuple(tokens), trainable=tuple(trainable))


@dataclass(frozen=True)
class ParsedFile:
    """A training or validation file, tokenized."""

    examples: tuple[TrainingExample, ...]
    example_tokens: tuple[int, ...]
    """Billable tokens of each example (the counting rule above)."""
    exchanges: tuple[Exchange, ...]
    line_numbers: tuple[int, ...]
    """The file line of each example."""

    @property
    def total_tokens(self) -> int:
        """Billable tokens of the whole file, one epoch."""
        return sum(self.example_tokens)


def parse_training_file(content: bytes, encoding_name: str) -> ParsedFile:
    """Tokenize a processed (already validated) chat or DPO JSONL file."""
    encoding = get_encoding(encoding_name)
    text = content.decode("utf-8-sig")
    examples: list[TrainingExample] = []
    counts: list[int] = []
    exchanges: list[Exchange] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        lines.append(number)
        record = json.loads(line)
        if "input" in record:
            given = record["input"]
            messages = list(given.get("messages", []))
            tools = given.get("tools")
            preferred = list(record.get("preferred_output", []))
            rejected = list(record.get("non_preferred_output", []))
            examples.append(_example(encoding, [*messages, *preferred], tools))
            counts.append(
                count_chat_tokens(encoding, [*messages, *preferred], tools)
                + count_chat_tokens(encoding, rejected)
                - 3
            )
            exchanges += exchanges_from_chat([*messages, *preferred])
        else:
            messages = list(record.get("messages", []))
            tools = record.get("tools") or record.get("functions")
            examples.append(_example(encoding, messages, tools))
            counts.append(count_chat_tokens(encoding, messages, tools))
            exchanges += exchanges_from_chat(messages)
    return ParsedFile(tuple(examples), tuple(counts), tuple(exchanges), tuple(lines))
