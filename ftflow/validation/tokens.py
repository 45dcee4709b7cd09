"""Exact token counts of chat examples, in the model's own encoding.

Counting follows OpenAI's published chat format rules: every message costs 3 tokens of framing
plus its role, its content and its name (a name costs 1 more); every conversation 3 more for
the reply primer. Tool calls cost their function name and arguments; tool definitions follow
the published formula for function definitions. Text is tokenized with the real BPE encoding,
never estimated. Repeated strings (a shared system prompt, the same tools on every line) are
counted once and remembered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "MESSAGE_FRAMING",
    "NAME_COST",
    "REPLY_PRIMER",
    "TokenCounter",
    "find_special_tokens",
]

MESSAGE_FRAMING = 3
NAME_COST = 1
REPLY_PRIMER = 3

# Function definitions, as OpenAI's token counting guide prices them for the o200k and
# cl100k chat models.
_FUNCTION_START = {"o200k_base": 7, "cl100k_base": 10}
_PROPERTIES_START = 3
_PROPERTY = 3
_ENUM_START = -3
_ENUM_ITEM = 3
_FUNCTIONS_END = 12

# Special tokens of the encodings, and the chat markup the service reserves.
_SPECIAL = re.compile(
    r"<\|(?:endoftext|endofprompt|fim_prefix|fim_middle|fim_suffix|im_start"
    r"|im_end|im_sep)\|>"
)

_ROLES = ("system", "user", "assistant", "tool", "function")
_CACHE_MIN_CHARS = 48
_CACHE_MAX_ENTRIES = 4096


def find_special_tokens(text: str) -> list[str]:
    """The special-token strings in ``text`` (empty for almost all text: checked cheaply)."""
    if "<|" not in text:
        return []
    return _SPECIAL.findall(text)


class TokenCounter:
    """Counts tokens with one encoding, remembering long strings that repeat."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self.encoding_name: str = encoding.name
        self._encode = encoding.encode_ordinary
        self._cache: dict[str, int] = {}
        self._pinned = {role: len(self._encode(role)) for role in _ROLES}

    def count(self, text: str) -> int:
        """Tokens in ``text``; special-token strings are counted as ordinary text."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        tokens = len(self._encode(text))
        if len(text) >= _CACHE_MIN_CHARS:
            if len(self._cache) >= _CACHE_MAX_ENTRIES:
                self._cache.clear()
            self._cache[text] = tokens
        return tokens

    def count_role(self, role: str) -> int:
        """Tokens of a role name (the few valid ones are counted once)."""
        pinned = self._pinned.get(role)
        return self.count(role) if pinned is None else pinned

    def count_tools(self, tools: list[dict[str, Any]]) -> int:
        """Tokens of well-formed tool definitions (check them first: see the chat rules)."""
        total = 0
        for tool in tools:
            total += self._count_function(tool["function"])
        return total + _FUNCTIONS_END if tools else 0

    def _count_function(self, function: dict[str, Any]) -> int:
        total = _FUNCTION_START.get(self.encoding_name, _FUNCTION_START["cl100k_base"])
        description = str(function.get("description", "")).removesuffix(".")
        total += self.count(f"{function['name']}:{description}")
        parameters = function.get("parameters") or {}
        properties = parameters.get("properties") or {}
        if properties:
            total += _PROPERTIES_START
            for key, spec in properties.items():
                total += _PROPERTY
                spec_map = spec if isinstance(spec, dict) else {}
                enum = spec_map.get("enum")
                if isinstance(enum, list):
                    total += _ENUM_START
                    for item in enum:
                        total += _ENUM_ITEM + self.count(str(item))
                kind = spec_map.get("type", "")
                text = str(spec_map.get("description", "")).removesuffix(".")
                total += self.count(f"{key}:{kind}:{text}")
        return total
