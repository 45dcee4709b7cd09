"""Test data for the validator: examples built in code, written to files under ``tmp_path``.

Test modules import this as ``_validation_data`` (pytest puts this folder on ``sys.path``;
there are no ``__init__.py`` files). Nothing here reads data shipped with the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tiktoken

from ftflow.settings import TokenizerSettings
from ftflow.validation import Finding, ValidationOptions, ValidationReport, validate_dataset

__all__ = [
    "MODEL",
    "SYSTEM",
    "Example",
    "Line",
    "as_json",
    "chat_example",
    "chat_examples",
    "dpo_example",
    "encode_line",
    "encodings_dir",
    "findings_of",
    "kinds_of",
    "tiktoken_encoding",
    "tool_call_example",
    "validate",
    "with_line",
    "write_jsonl",
]

Example = dict[str, Any]
# A line of a JSONL file: an example (dumped as JSON), or text or bytes written verbatim.
Line = Example | str | bytes

MODEL = "gpt-4o-mini-2024-07-18"
SYSTEM = "You are the support assistant of Velo, a bicycle shop in Oslo."

_TOPICS = (
    "tyre pressure",
    "brake pads",
    "chain wear",
    "saddle height",
    "gear cables",
    "winter storage",
    "e-bike batteries",
    "wheel truing",
)


def encodings_dir() -> Path:
    """Where ftflow finds the tokenizer encodings in this environment (as the CLI does)."""
    return TokenizerSettings().tiktoken_cache_dir


def tiktoken_encoding(name: str) -> Any:
    """The encoding straight from tiktoken, to count tokens independently of ftflow."""
    os.environ["TIKTOKEN_CACHE_DIR"] = str(encodings_dir())
    return tiktoken.get_encoding(name)


def chat_example(i: int = 0, *, system: str | None = SYSTEM) -> Example:
    """A valid single-turn chat example, different for every ``i``."""
    topic = _TOPICS[i % len(_TOPICS)]
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": f"Question {i}: how do I look after my {topic}?"})
    messages.append(
        {"role": "assistant", "content": f"For {topic}, check it monthly (answer {i})."}
    )
    return {"messages": messages}


def chat_examples(n: int, start: int = 0) -> list[Example]:
    """``n`` distinct valid chat examples."""
    return [chat_example(i) for i in range(start, start + n)]


def tool_call_example(i: int = 0) -> Example:
    """A valid multi-turn chat example with a tool definition, a tool call and its answer."""
    return {
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_stock",
                    "description": "Look up how many units of a product are in stock.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "sku": {"type": "string", "description": "The product code."},
                            "store": {
                                "type": "string",
                                "description": "Which shop",
                                "enum": ["oslo", "bergen"],
                            },
                        },
                        "required": ["sku"],
                    },
                },
            }
        ],
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Do you have product SKU-{i} in Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {
                            "name": "get_stock",
                            "arguments": json.dumps({"sku": f"SKU-{i}", "store": "oslo"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": f"call_{i}", "content": '{"units": 4}'},
            {"role": "assistant", "content": f"Yes, we have 4 units of SKU-{i} in Oslo."},
        ],
    }


def dpo_example(i: int = 0) -> Example:
    """A valid DPO (preference) example."""
    topic = _TOPICS[i % len(_TOPICS)]
    return {
        "input": {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Question {i}: any tips on {topic}?"},
            ]
        },
        "preferred_output": [
            {"role": "assistant", "content": f"Check your {topic} monthly (tip {i})."}
        ],
        "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
    }


def encode_line(line: Line) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    return json.dumps(line, ensure_ascii=False).encode()


def write_jsonl(
    path: Path,
    lines: Iterable[Line],
    *,
    newline: bytes = b"\n",
    bom: bool = False,
    final_newline: bool = True,
) -> Path:
    """Write ``lines`` as a JSONL file and return ``path``."""
    body = newline.join(encode_line(line) for line in lines)
    if final_newline:
        body += newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
    return path


def validate(
    training: Path,
    *,
    model: str = MODEL,
    validation: Path | None = None,
    epochs: int | None = None,
    options: ValidationOptions | None = None,
) -> ValidationReport:
    """The library entry point, in this process (one worker) unless options say otherwise."""
    return validate_dataset(
        training,
        model=model,
        encodings_dir=encodings_dir(),
        validation=validation,
        epochs=epochs,
        options=options or ValidationOptions(workers=1),
    )


def as_json(report: ValidationReport) -> dict[str, Any]:
    """The ``--json`` document, through a JSON round trip (so it must be serialisable)."""
    document: dict[str, Any] = json.loads(json.dumps(report.as_dict()))
    return document


def findings_of(report: ValidationReport, kind: str) -> list[Finding]:
    return [f for f in report.findings if f.kind == kind]


def kinds_of(report: ValidationReport, severity: str | None = None) -> set[str]:
    return {f.kind for f in report.findings if severity is None or f.severity == severity}


def with_line(examples: Sequence[Line], at: int, line: Line) -> list[Line]:
    """``examples`` with ``line`` inserted so that it becomes line ``at`` (1-based)."""
    lines = list(examples)
    lines.insert(at - 1, line)
    return lines
