"""Which environment comes after which: the pipeline order of a service's environments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

# Twilio has no notion of pipeline order, so it is guessed from the names teams use.
_STAGE_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("dev", "develop", "development", "local", "sandbox")),
    (1, ("test", "testing", "qa", "int", "integration", "ci")),
    (2, ("stage", "staging", "stg", "uat", "preprod", "pre-prod", "preview")),
    (3, ("prod", "production", "live", "prd", "main")),
)
_UNKNOWN_RANK = 1.5  # unrecognised names sit between testing and staging


class EnvironmentLike(Protocol):
    @property
    def unique_name(self) -> str | None: ...

    @property
    def domain_suffix(self) -> str | None: ...


E = TypeVar("E", bound=EnvironmentLike)


def stage_rank(environment: EnvironmentLike) -> float:
    """How far along the pipeline an environment is, from its unique name or domain suffix."""
    for text in (environment.unique_name, environment.domain_suffix):
        words = set(re.split(r"[^a-z0-9]+", (text or "").lower())) | {(text or "").lower()}
        for rank, names in _STAGE_WORDS:
            if words & set(names):
                return rank
    # Twilio's console creates the production environment without a domain suffix.
    if not environment.domain_suffix:
        return 3
    return _UNKNOWN_RANK


def pipeline_order(environments: Sequence[E], override: Sequence[str] = ()) -> list[E]:
    """The environments first stage to last: the admin's override first, then by guess."""
    position = {name: index for index, name in enumerate(override)}

    def key(environment: E) -> tuple[int, float, str]:
        name = environment.unique_name or ""
        if name in position:
            return (0, position[name], name)
        return (1, stage_rank(environment), name)

    return sorted(environments, key=key)
