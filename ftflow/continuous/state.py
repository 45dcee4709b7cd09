"""The continuous pipeline's memory: what was trained, what is served, and how it got there.

One `ContinuousState`, kept as JSON in a Prefect Variable by the tasks (this module only
shapes it). It is written once per run, after everything remote succeeded:

* ``trained``: the sha256[:16] of every data file trained on, by a promoted *or* a rejected
  candidate (a rejected file is not retrained on every schedule; new content is a new file);
* ``promoted``: the model the stable ``deployment`` serves, and ``previous``, the one it
  replaced, kept for `rollback` (one step back);
* ``lineage``: data version → job → model → deployment → scores, newest last, trimmed to fit.

Prefect refuses Variable values over `VARIABLE_LIMIT` characters of JSON: room for about 260
trained files with no lineage, 130 with five entries (about 500 characters each).
`fit` first forgets the hashes of files no longer in the data location, then drops the oldest
lineage entries (the lineage artifact's history keeps them), and raises `StateTooLarge` when
what is left still does not fit.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HASH_CHARS",
    "VARIABLE_LIMIT",
    "ContinuousState",
    "LineageEntry",
    "NothingToRollBack",
    "StateTooLarge",
    "fit",
    "now",
    "record_decision",
    "record_rollback",
]

VARIABLE_LIMIT = 5000
"""Prefect's limit on a Variable's value, in characters of JSON."""

HASH_CHARS = 16
"""Hex digits of sha256 kept per file: 64 bits, and the same prefix upload names carry."""

Event = Literal["promoted", "rejected", "rolled_back"]


class StateTooLarge(ValueError):
    """The state cannot fit in one Prefect Variable; the message says how full it is."""


class NothingToRollBack(LookupError):
    """There is no previous model to restore."""


def now() -> str:
    """The current UTC time, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class LineageEntry(BaseModel):
    """One step of the lineage: a candidate judged, or a rollback."""

    model_config = ConfigDict(extra="ignore")

    at: str = Field(description="When it was recorded (UTC, ISO 8601).")
    run: str | None = Field(default=None, description="The flow run's name.")
    event: Event
    data_version: str | None = Field(default=None, description="Training set sha256[:16].")
    files: int = Field(default=0, description="Data files newly trained on.")
    examples: int = Field(default=0, description="Examples in the training set.")
    trained_from: str | None = Field(default=None, description="The model training started from.")
    job: str | None = None
    model: str = Field(description="The candidate (or, for a rollback, the restored model).")
    deployment: str = Field(description="Where it was served: stable, or the candidate slot.")
    replaced: str | None = Field(default=None, description="The model it took over from.")
    metric: str | None = None
    score: float | None = Field(default=None, description="The candidate's score.")
    baseline: float | None = Field(default=None, description="The served model's score.")


class ContinuousState(BaseModel):
    """Everything a run needs to know about earlier runs."""

    model_config = ConfigDict(extra="ignore")

    deployment: str | None = Field(default=None, description="The stable deployment.")
    promoted: str | None = Field(default=None, description="The model it serves.")
    previous: str | None = Field(default=None, description="The model before, for rollback.")
    trained: list[str] = Field(default_factory=list, description="sha256[:16] trained on.")
    lineage: list[LineageEntry] = Field(default_factory=list)

    @classmethod
    def from_variable(cls, value: Any) -> ContinuousState:
        """The state read from a Variable's value (a dict, JSON text, or nothing yet)."""
        if value is None or value == "":
            return cls()
        if isinstance(value, str):
            value = json.loads(value)
        return cls.model_validate(value)

    def to_variable(self) -> dict[str, Any]:
        """The Variable's value: plain JSON, without empty fields."""
        return self.model_dump(mode="json", exclude_none=True)

    def size(self) -> int:
        """Characters of JSON Prefect counts against `VARIABLE_LIMIT`."""
        return len(json.dumps(self.to_variable(), separators=(",", ":")))

    def is_trained(self, sha256: str) -> bool:
        """Whether content with this hash was trained on."""
        return sha256[:HASH_CHARS] in set(self.trained)

    def promotions(self) -> list[str]:
        """The models promoted, oldest first."""
        return [entry.model for entry in self.lineage if entry.event == "promoted"]


def fit(
    state: ContinuousState,
    keep: int,
    limit: int = VARIABLE_LIMIT,
    present: Collection[str] | None = None,
) -> ContinuousState:
    """``state`` cut to fit under ``limit`` characters, with at most ``keep`` lineage entries.

    When it does not fit, first the hashes of files no longer ``present`` in the data location
    are forgotten (a forgotten file that comes back is new again; archiving trained files out
    of the location makes room), then the oldest lineage entries are dropped.
    """
    trimmed = state.model_copy(update={"lineage": state.lineage[-keep:] if keep > 0 else []})
    if trimmed.size() >= limit and present is not None:
        here = {sha256[:HASH_CHARS] for sha256 in present}
        kept = [short for short in trimmed.trained if short in here]
        trimmed = trimmed.model_copy(update={"trained": kept})
    while trimmed.size() >= limit and trimmed.lineage:
        trimmed = trimmed.model_copy(update={"lineage": trimmed.lineage[1:]})
    if trimmed.size() >= limit:
        raise StateTooLarge(
            f"the state of {len(trimmed.trained)} trained files needs {trimmed.size()} "
            f"characters, over the {limit} a Prefect Variable holds; move trained files out "
            "of the data location (their hashes are then forgotten) or merge them into "
            "fewer files"
        )
    return trimmed


def record_decision(
    state: ContinuousState, entry: LineageEntry, trained: list[str], stable: str
) -> ContinuousState:
    """The state after judging a candidate: its files trained, promoted if ``entry`` says so."""
    known = list(state.trained)
    seen = set(known)
    for sha256 in trained:
        short = sha256[:HASH_CHARS]
        if short not in seen:
            known.append(short)
            seen.add(short)
    update: dict[str, Any] = {"trained": known, "lineage": [*state.lineage, entry]}
    if entry.event == "promoted":
        update.update(deployment=stable, promoted=entry.model, previous=entry.replaced)
    return state.model_copy(update=update)


def record_rollback(state: ContinuousState, run: str | None) -> ContinuousState:
    """The state after the stable deployment went back to ``previous``.

    The rolled-back model is not kept as a new ``previous``: rollback is one step back, and a
    second rollback has nothing to restore until the next promotion.
    """
    if state.previous is None or state.promoted is None or state.deployment is None:
        raise NothingToRollBack(
            "no previous model recorded: nothing was promoted over another model yet, or it "
            "was already rolled back"
        )
    entry = LineageEntry(
        at=now(),
        run=run,
        event="rolled_back",
        model=state.previous,
        deployment=state.deployment,
        replaced=state.promoted,
    )
    return state.model_copy(
        update={
            "promoted": state.previous,
            "previous": None,
            "lineage": [*state.lineage, entry],
        }
    )
