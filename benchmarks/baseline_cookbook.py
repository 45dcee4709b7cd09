"""The baseline: the OpenAI cookbook's chat fine-tuning data check, as a script.

This follows the notebook "Data preparation and analysis for chat model fine-tuning"
(openai-cookbook, examples/Chat_finetuning_data_prep.ipynb) step by step: read every line with
``json.loads`` into a list, run its format checks, count tokens message by message with
``tiktoken.get_encoding(...).encode`` (+3 per message, +1 per name, +3 reply priming), count
assistant tokens, print the distributions, the over-limit count and the billing estimate. One
process, one thread, as in the notebook.

Adaptations, each the smallest that lets it run on files with tools, weights and tool calls:

* ``num_tokens_from_messages`` encodes only ``str`` values. The notebook calls
  ``encoding.encode(value)`` on every value of every message, which raises on ``"weight": 0``
  (an int), ``tool_calls`` (a list) and ``"content": null``. Consequently tool definitions
  (line-level ``tools``, never read by the notebook) and ``tool_calls`` are not counted.
* ``num_assistant_tokens_from_messages`` skips assistant messages whose content is not a str.
* numpy (not installed here) is replaced by :mod:`statistics`; p5/p95 are the 5th and 95th
  percentiles with numpy's default linear interpolation (the notebook prints its 10th and
  90th percentiles under that label).
* The token limit is a parameter (65,536 for gpt-4o-mini) instead of the notebook's constant.
* The results are printed as one line of JSON instead of several print statements.

The format checks are the notebook's, unchanged: on tool-call examples they report
``unrecognized_role`` / ``message_unrecognized_key`` / ``missing_content``, as it would.

Usage: ``python benchmarks/baseline_cookbook.py PATH [--encoding o200k_base]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def format_errors_of(dataset: list[Any]) -> dict[str, int]:
    """The notebook's format error checks, unchanged."""
    format_errors: defaultdict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(
                k not in ("role", "content", "name", "function_call", "weight") for k in message
            ):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
    return dict(format_errors)


def distribution(values: list[int]) -> dict[str, float]:
    """min / max / mean / median / p5 / p95, as the notebook's ``print_distribution``."""
    cuts = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else values
    return {
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p5": cuts[0],
        "p95": cuts[-1],
    }


def analyse(path: Path, encoding_name: str, max_tokens: int) -> dict[str, Any]:
    """Run the notebook on ``path``; the figures it prints, plus the time of each step."""
    import tiktoken

    times: dict[str, float] = {}
    started = time.perf_counter()

    # Data loading
    with path.open(encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    times["load"] = time.perf_counter() - started

    # Format validation
    format_errors = format_errors_of(dataset)
    times["format_checks"] = time.perf_counter() - started - times["load"]

    # Token counting utilities
    encoding = tiktoken.get_encoding(encoding_name)

    def num_tokens_from_messages(
        messages: list[dict[str, Any]], tokens_per_message: int = 3, tokens_per_name: int = 1
    ) -> int:
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                if not isinstance(value, str):  # adaptation: the notebook encodes every value
                    continue
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages: list[dict[str, Any]]) -> int:
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant" and isinstance(message.get("content"), str):
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    # Data warnings and token counts
    counting = time.perf_counter()
    n_missing_system = 0
    n_missing_user = 0
    n_messages = []
    convo_lens = []
    assistant_message_lens = []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    n_too_long = sum(length > max_tokens for length in convo_lens)
    distributions = {
        "num_messages_per_example": distribution(n_messages),
        "num_total_tokens_per_example": distribution(convo_lens),
        "num_assistant_tokens_per_example": distribution(assistant_message_lens),
    }
    times["token_counts"] = time.perf_counter() - counting

    # Pricing and default n_epochs estimate
    n_epochs = TARGET_EPOCHS
    n_train_examples = len(dataset)
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    n_billing_tokens_in_dataset = sum(min(max_tokens, length) for length in convo_lens)
    times["total"] = time.perf_counter() - started

    return {
        "tool": "baseline_cookbook",
        "file": str(path),
        "encoding": encoding_name,
        "examples": n_train_examples,
        "format_errors": format_errors,
        "missing_system": n_missing_system,
        "missing_user": n_missing_user,
        "distributions": distributions,
        "total_tokens": sum(convo_lens),
        "assistant_tokens": sum(assistant_message_lens),
        "too_long": n_too_long,
        "billing_tokens": n_billing_tokens_in_dataset,
        "epochs": n_epochs,
        "charged_tokens": n_epochs * n_billing_tokens_in_dataset,
        "seconds": times,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The cookbook's chat data check (baseline).")
    parser.add_argument("path", type=Path)
    parser.add_argument("--encoding", default="o200k_base")
    parser.add_argument("--max-tokens", type=int, default=65_536, help="per-example limit")
    args = parser.parse_args(argv)
    # tiktoken reads its encodings from here (offline); the project installs them in the venv.
    default_cache = Path(sys.prefix) / "share" / "ftflow" / "tiktoken"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(default_cache))
    print(json.dumps(analyse(args.path, args.encoding, args.max_tokens), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
