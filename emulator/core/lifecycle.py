"""Declared lifecycles: the states of a resource and the transitions allowed between them.

Each resource declares its :class:`Lifecycle` next to its state (files, jobs, deployments) and
every status change goes through :meth:`Lifecycle.check`, so an undeclared transition is a bug
that fails loudly instead of a silent corruption. When a change happens (at once, after a
simulated delay, on a request) is the resource's schedule, driven by the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["IllegalTransition", "Lifecycle"]


class IllegalTransition(RuntimeError):
    """A status change the lifecycle does not declare (a bug in the emulator)."""


@dataclass(frozen=True)
class Lifecycle:
    """States, the initial one, and ``transitions[state]`` = states reachable in one step."""

    name: str
    initial: str
    transitions: Mapping[str, frozenset[str]]
    terminal: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        states = set(self.transitions)
        for targets in self.transitions.values():
            unknown = set(targets) - states
            if unknown:
                raise ValueError(f"{self.name}: transitions to undeclared states {unknown}")
        if self.initial not in states:
            raise ValueError(f"{self.name}: initial state {self.initial!r} undeclared")
        terminal = frozenset(s for s, targets in self.transitions.items() if not targets)
        object.__setattr__(self, "terminal", terminal)

    @classmethod
    def declare(cls, name: str, initial: str, edges: Mapping[str, Iterable[str]]) -> Lifecycle:
        """Build from ``{state: [next states]}``."""
        return cls(name, initial, {s: frozenset(t) for s, t in edges.items()})

    @property
    def states(self) -> frozenset[str]:
        """Every declared state."""
        return frozenset(self.transitions)

    def can(self, current: str, target: str) -> bool:
        """Whether ``current → target`` is declared."""
        return target in self.transitions.get(current, frozenset())

    def check(self, current: str, target: str) -> str:
        """Return ``target`` if ``current → target`` is declared, else raise."""
        if not self.can(current, target):
            raise IllegalTransition(f"{self.name}: {current} -> {target} is not declared")
        return target

    def is_terminal(self, state: str) -> bool:
        """Whether no transition leaves ``state``."""
        return state in self.terminal
