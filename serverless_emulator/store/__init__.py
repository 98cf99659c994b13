"""All emulator state behind one lock, with Twilio's rules for changing it.

One module per resource, as in `api/`; `core` holds what they share (tables,
lock, sequence, lookups, saving). `Store` puts them together.
"""

from __future__ import annotations

from .. import persistence
from .builds import BUILD_STATUSES, DEFAULT_RUNTIME, RUNTIMES, Builds
from .deployments import Deployments
from .environments import Environments
from .functions_assets import ASSETS, FUNCTIONS, VISIBILITIES, FunctionsAndAssets, ResourceKind
from .logs import Logs
from .services import Services
from .variables import Variables

__all__ = [
    "ASSETS",
    "BUILD_STATUSES",
    "DEFAULT_RUNTIME",
    "FUNCTIONS",
    "RUNTIMES",
    "VISIBILITIES",
    "ResourceKind",
    "Store",
]


class Store(Services, Environments, FunctionsAndAssets, Builds, Deployments, Logs, Variables):
    """State of one emulated Twilio account.

    List order: Deployments, Builds, Logs and Versions newest first (what the
    Console and the dashboard show); Services, Environments, Functions, Assets
    and Variables in creation order. The spec does not say; Twilio is not
    consistent across products either.
    """

    def reset(self, seed: str | None = "demo", *, rng_seed: int | None = None) -> None:
        """Drop everything and load a named seed ("demo", "empty" or None)."""
        from ..seed import apply_seed, new_rng  # the seed builds on the Store

        with self.lock, self.batch():
            self._clear()
            apply_seed(self, seed, rng=new_rng(rng_seed), now=self.clock())

    def open(self, seed: str | None = "demo", *, rng_seed: int | None = None) -> bool:
        """Load `state_path` if it exists, else seed and write it.

        Returns True when existing state was loaded. Idempotent by design: a
        restart must never reseed over what earlier runs changed.
        """
        if self.state_path is not None and self.state_path.exists():
            self.restore(persistence.read(self.state_path))
            return True
        self.reset(seed, rng_seed=rng_seed)
        return False
