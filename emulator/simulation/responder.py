"""How emulated models answer chat completions.

A fine-tuned deployment answers from what it was trained on: :class:`Responder` returns the
assistant reply whose training prompt is most similar (TF-IDF cosine over lowercase words, common
English function words left out) to the last user message. A base model, or a fine-tuned one asked
about something its data never mentions, answers with :func:`generic_reply`: polite, on topic,
deterministic, and built from the question alone.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Exchange", "Responder", "exchanges_from_chat", "generic_reply", "message_text"]

_WORD = re.compile(r"\w+")

_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own please same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves tell give show let
    know want need get hi hello hey thanks thank
"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class Exchange:
    """A user turn of the training data and the assistant reply that followed it."""

    prompt: str
    reply: str


def message_text(content: object) -> str:
    """The text of a message ``content``: a string, a list of parts (texts joined) or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str) and part.get("type", "text") == "text":
                    texts.append(text)
        return "\n".join(texts)
    return ""


def _last_user_text(messages: Sequence[Mapping[str, object]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return None


def _terms(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if word not in _STOP_WORDS]


def exchanges_from_chat(messages: Sequence[Mapping[str, object]]) -> list[Exchange]:
    """Every (last user message before an assistant reply → that reply) pair of a conversation.

    Assistant messages with ``weight`` 0 (not trained on), without text (tool calls only) or
    without any user message before them are skipped.
    """
    exchanges: list[Exchange] = []
    prompt: str | None = None
    for message in messages:
        role = message.get("role")
        if role == "user":
            prompt = message_text(message.get("content"))
        elif role == "assistant":
            weight = message.get("weight")
            if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight == 0:
                continue
            reply = message_text(message.get("content"))
            if prompt is not None and reply.strip():
                exchanges.append(Exchange(prompt=prompt, reply=reply))
    return exchanges


class Responder:
    """Answers like a model fine-tuned on ``exchanges``: with the reply of the closest prompt.

    The index is built once: inverse document frequencies (smoothed, ``ln((1 + n) / (1 + df)) +
    1``), sublinear term weights (``1 + ln tf``) and unit-length prompt vectors in an inverted
    index, so a query costs time in proportion to the postings of its own words.
    """

    def __init__(self, exchanges: Sequence[Exchange]) -> None:
        self._replies = [exchange.reply for exchange in exchanges]
        counts = [Counter(_terms(exchange.prompt)) for exchange in exchanges]
        document_frequency: Counter[str] = Counter()
        for terms in counts:
            document_frequency.update(terms.keys())
        total = len(counts)
        self._idf = {
            term: math.log((1 + total) / (1 + df)) + 1.0 for term, df in document_frequency.items()
        }
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, terms in enumerate(counts):
            weights = {term: (1.0 + math.log(tf)) * self._idf[term] for term, tf in terms.items()}
            norm = math.sqrt(sum(weight * weight for weight in weights.values()))
            for term, weight in weights.items():
                self._postings.setdefault(term, []).append((index, weight / norm))

    def __len__(self) -> int:
        return len(self._replies)

    def similarities(self, text: str) -> dict[int, float]:
        """Cosine similarity of ``text`` to every prompt sharing a word with it (others are 0)."""
        terms = Counter(term for term in _terms(text) if term in self._idf)
        weights = {term: (1.0 + math.log(tf)) * self._idf[term] for term, tf in terms.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values()))
        scores: dict[int, float] = {}
        for term, weight in weights.items():
            for index, doc_weight in self._postings[term]:
                scores[index] = scores.get(index, 0.0) + weight * doc_weight / norm
        return scores

    def reply(self, messages: Sequence[Mapping[str, object]]) -> str:
        """The training reply whose prompt is most similar to the last user message.

        Ties go to the exchange that came first. Without exchanges, without a user message or with
        no prompt sharing a word with it, the answer is :func:`generic_reply`.
        """
        text = _last_user_text(messages)
        if text is None or not self._replies:
            return generic_reply(messages)
        scores = self.similarities(text)
        if not scores:
            return generic_reply(messages)
        best = min(scores, key=lambda index: (-round(scores[index], 12), index))
        return self._replies[best]


_OPENINGS = (
    "Thanks for your question about {topic}.",
    "Good question about {topic}.",
    "Happy to help with {topic}.",
)
_BODY = (
    " The best answer depends on your specific situation, so it helps to start from what you "
    "already know, check the most reliable sources available and weigh the trade-offs before "
    "deciding. If you share more details about your goals and constraints, I can give you a more "
    "specific answer."
)


def generic_reply(messages: Sequence[Mapping[str, object]]) -> str:
    """A base model's answer: polite, general, naming the question's topic words, no training data.

    Deterministic: the same messages always get the same answer.
    """
    text = _last_user_text(messages)
    if not text or not text.strip():
        return "Hello! How can I help you today?"
    topic_words: list[str] = []
    for word in _terms(text):
        if word not in topic_words and not word.isdigit():
            topic_words.append(word)
    if not topic_words:
        return (
            "I'm happy to help. Could you tell me a little more about what you would like to know?"
        )
    topic_words = topic_words[:3]
    if len(topic_words) == 1:
        topic = topic_words[0]
    else:
        topic = ", ".join(topic_words[:-1]) + " and " + topic_words[-1]
    opening = _OPENINGS[zlib.crc32(text.encode("utf-8")) % len(_OPENINGS)]
    return opening.format(topic=topic) + _BODY
