"""The small language model the emulator really trains: a hierarchical Dirichlet-smoothed trigram.

Private to :mod:`emulator.simulation.training`. The model predicts token ``w`` from the two tokens
before it in the same example (a beginning-of-example marker stands in before the first token) as

    P1(w)         = (c1(w) + beta / V) / (N + beta)                 unigram, backed by uniform 1/V
    P2(w | b)     = (c2(b, w) + alpha * P1(w)) / (c2(b) + alpha)     bigram, backed by the unigram
    P3(w | a, b)  = (c3(a, b, w) + alpha * P2(w | b)) / (c3(a, b) + alpha)

that is, each order is a Dirichlet posterior whose prior is the next lower order (MacKay and Peto's
hierarchical Dirichlet language model). An empty model is exactly uniform over the vocabulary.
Every update adds ``eta`` (the learning rate, see :func:`emulator.simulation.training.train`) to the
counts of each trained token, so a larger step moves probability mass to the training data faster;
and because the back-off weight ``alpha / (c + alpha)`` keeps shrinking as counts grow, many epochs
make the model ever surer of the training continuations and ever less generous to continuations it
has not seen: validation loss turns upwards, the way an over-trained network overfits.

The "most probable next token" used for token accuracy is chosen among the favourites that are
tracked incrementally (the most counted continuation of the trigram context, of the bigram context
and the most counted token overall): the true token counts as predicted when it is the best of those
favourites or more probable than all of them. This is the exact argmax unless some token that is no
favourite at any order outranks them all through the mixture, which is rare and never matters for
the shape of the curves; it saves scanning a context's every continuation.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import log

__all__ = ["Position", "TrigramModel"]

Position = tuple[int, int, int, int, int]
"""A trained token, as (token, bigram context, trigram context, bigram key, trigram key)"""

_ALPHA = 2.0
"""Prior strength of the bigram and trigram orders, in token counts (at learning rate 1)."""
_BETA = 64.0
"""Prior strength of the uniform distribution under the unigram, in token counts."""


class TrigramModel:
    """Counts and incrementally tracked favourites of an interpolated trigram model of token ids."""

    def __init__(self, vocab_size: int) -> None:
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
        self.vocab_size = vocab_size
        self._base = vocab_size + 1  # ids 0..V-1 are tokens, V marks the beginning of an example
        self._c1: dict[int, float] = {}
        self._n1 = 0.0
        self._fav1 = -1
        self._fav1_count = 0.0
        self._c2w: dict[int, float] = {}
        self._c2: dict[int, float] = {}
        self._fav2: dict[int, int] = {}
        self._fav2_count: dict[int, float] = {}
        self._c3w: dict[int, float] = {}
        self._c3: dict[int, float] = {}
        self._fav3: dict[int, int] = {}
        self._fav3_count: dict[int, float] = {}

    def positions(self, tokens: Sequence[int], trainable: Sequence[bool]) -> list[Position]:
        """Precompute the contexts and count keys of an example's trainable tokens."""
        base = self._base
        bos = self.vocab_size
        out: list[Position] = []
        prev2 = prev1 = bos
        for token, trained in zip(tokens, trainable, strict=True):
            if trained:
                ctx3 = prev2 * base + prev1
                out.append((token, prev1, ctx3, prev1 * base + token, ctx3 * base + token))
            prev2, prev1 = prev1, token
        return out

    def evaluate(self, examples: Sequence[Sequence[Position]]) -> tuple[float, int, int]:
        """Sum of negative log-likelihoods, correct predictions and tokens over ``examples``.

        The model is not changed, so predictions are memoised per trigram context for the call.
        """
        c1, c2w, c2, c3w, c3 = self._c1, self._c2w, self._c2, self._c3w, self._c3
        fav2, fav3, fav1 = self._fav2, self._fav3, self._fav1
        base = self._base
        alpha = _ALPHA
        unseen = _BETA / self.vocab_size
        inv1 = 1.0 / (self._n1 + _BETA)
        memo: dict[int, tuple[int, float, float, float]] = {}
        nll = 0.0
        correct = 0
        count = 0
        for positions in examples:
            count += len(positions)
            for token, ctx2, ctx3, key2, key3 in positions:
                entry = memo.get(ctx3)
                if entry is None:
                    d2 = c2.get(ctx2, 0.0) + alpha
                    d3 = c3.get(ctx3, 0.0) + alpha
                    best = -1
                    best_p = alpha * (alpha * unseen * inv1 / d2) / d3
                    for cand in (fav3.get(ctx3, -1), fav2.get(ctx2, -1), fav1):
                        if cand < 0 or cand == best:
                            continue
                        p = (c1.get(cand, 0.0) + unseen) * inv1
                        p = (c2w.get(ctx2 * base + cand, 0.0) + alpha * p) / d2
                        p = (c3w.get(ctx3 * base + cand, 0.0) + alpha * p) / d3
                        if p > best_p:
                            best, best_p = cand, p
                    entry = (best, best_p, d2, d3)
                    memo[ctx3] = entry
                best, best_p, d2, d3 = entry
                p = (c1.get(token, 0.0) + unseen) * inv1
                p = (c2w.get(key2, 0.0) + alpha * p) / d2
                p = (c3w.get(key3, 0.0) + alpha * p) / d3
                nll -= log(p)
                if token == best or p > best_p:
                    correct += 1
        return nll, correct, count

    def update(self, examples: Sequence[Sequence[Position]], eta: float) -> None:
        """Add ``eta`` to the counts of every trained token of ``examples``."""
        c1, c2w, c2, c3w, c3 = self._c1, self._c2w, self._c2, self._c3w, self._c3
        fav2, fav2_count, fav3, fav3_count = (
            self._fav2,
            self._fav2_count,
            self._fav3,
            self._fav3_count,
        )
        fav1, fav1_count = self._fav1, self._fav1_count
        added = 0
        for positions in examples:
            added += len(positions)
            for token, ctx2, ctx3, key2, key3 in positions:
                value = c1.get(token, 0.0) + eta
                c1[token] = value
                if value > fav1_count:
                    fav1, fav1_count = token, value
                value = c2w.get(key2, 0.0) + eta
                c2w[key2] = value
                c2[ctx2] = c2.get(ctx2, 0.0) + eta
                if value > fav2_count.get(ctx2, 0.0):
                    fav2_count[ctx2] = value
                    fav2[ctx2] = token
                value = c3w.get(key3, 0.0) + eta
                c3w[key3] = value
                c3[ctx3] = c3.get(ctx3, 0.0) + eta
                if value > fav3_count.get(ctx3, 0.0):
                    fav3_count[ctx3] = value
                    fav3[ctx3] = token
        self._fav1, self._fav1_count = fav1, fav1_count
        self._n1 += eta * added
