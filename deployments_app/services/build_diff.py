"""What putting one build live in place of another changes: pure, no I/O.

`build_diff(old=..., new=...)` compares two Builds' manifests. Functions and assets are
matched by path (a path is what a caller reaches; its version SID is what runs there),
dependencies by package name; the runtime is compared as it is. `old=None` means the
target runs nothing: everything in `new` is added.

A function or asset "changed" when its version SID or its visibility differs. A new
version of unchanged source is still a new version SID: Twilio keeps no content hash in
a Build, so a diff by SID is the most it can tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from deployments_app.services.serverless_types import AssetVersion, Build, FunctionVersion

__all__ = [
    "BuildDiff",
    "Change",
    "DependencyChange",
    "DependencyDiff",
    "DiffCounts",
    "FileChange",
    "FileDiff",
    "RuntimeChange",
    "build_diff",
]


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class DiffCounts:
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.removed + self.changed

    def __add__(self, other: DiffCounts) -> DiffCounts:
        return DiffCounts(
            self.added + other.added, self.removed + other.removed, self.changed + other.changed
        )


@dataclass(frozen=True)
class FileChange:
    """One function or asset path that is added, removed or changed."""

    path: str
    change: Change
    old_sid: str | None = None
    new_sid: str | None = None
    old_visibility: str | None = None
    new_visibility: str | None = None

    @property
    def version_changed(self) -> bool:
        return self.change is Change.CHANGED and self.old_sid != self.new_sid

    @property
    def visibility_changed(self) -> bool:
        return self.change is Change.CHANGED and self.old_visibility != self.new_visibility


C = TypeVar("C")  # a change: FileChange or DependencyChange


@dataclass(frozen=True)
class _Group(Generic[C]):
    """One kind of item's changes, each list sorted, and how many stay as they are."""

    added: tuple[C, ...] = ()
    removed: tuple[C, ...] = ()
    changed: tuple[C, ...] = ()
    unchanged: int = 0

    @property
    def counts(self) -> DiffCounts:
        return DiffCounts(len(self.added), len(self.removed), len(self.changed))

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def changes(self) -> tuple[C, ...]:
        """Every change, added first, then changed, then removed."""
        return self.added + self.changed + self.removed


@dataclass(frozen=True)
class FileDiff(_Group[FileChange]):
    """Functions, or assets, by path."""


@dataclass(frozen=True)
class DependencyChange:
    name: str
    change: Change
    old_version: str | None = None
    new_version: str | None = None


@dataclass(frozen=True)
class DependencyDiff(_Group[DependencyChange]):
    """Dependencies, by package name."""


@dataclass(frozen=True)
class RuntimeChange:
    old: str | None
    new: str | None


@dataclass(frozen=True)
class BuildDiff:
    """Everything that differs between what is live (`old`) and what would be (`new`)."""

    old_build_sid: str | None
    new_build_sid: str
    functions: FileDiff
    assets: FileDiff
    dependencies: DependencyDiff
    runtime: RuntimeChange | None  # None: the same runtime

    @property
    def from_nothing(self) -> bool:
        """The target runs nothing: the new build's whole manifest is added."""
        return self.old_build_sid is None

    @property
    def counts(self) -> DiffCounts:
        """Functions, assets and dependencies together (the runtime is counted apart)."""
        return self.functions.counts + self.assets.counts + self.dependencies.counts

    @property
    def is_empty(self) -> bool:
        """Nothing changes: the builds are equivalent (never so when nothing was live)."""
        return (
            not self.from_nothing
            and self.runtime is None
            and self.functions.is_empty
            and self.assets.is_empty
            and self.dependencies.is_empty
        )


_Version = FunctionVersion | AssetVersion


def _by_path(versions: Iterable[_Version]) -> dict[str, _Version]:
    # A manifest has one version per path; an entry without a path (a bare SID in the
    # manifest) is keyed by its SID so that it is still compared, not dropped.
    return {v.path or v.sid: v for v in versions}


def _file_diff(old: Mapping[str, _Version], new: Mapping[str, _Version]) -> FileDiff:
    added, removed, changed = [], [], []
    unchanged = 0
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before is None and after is not None:
            added.append(
                FileChange(path, Change.ADDED, new_sid=after.sid, new_visibility=after.visibility)
            )
        elif after is None and before is not None:
            removed.append(
                FileChange(
                    path, Change.REMOVED, old_sid=before.sid, old_visibility=before.visibility
                )
            )
        elif before is not None and after is not None:
            if before.sid == after.sid and before.visibility == after.visibility:
                unchanged += 1
            else:
                changed.append(
                    FileChange(
                        path,
                        Change.CHANGED,
                        old_sid=before.sid,
                        new_sid=after.sid,
                        old_visibility=before.visibility,
                        new_visibility=after.visibility,
                    )
                )
    return FileDiff(tuple(added), tuple(removed), tuple(changed), unchanged)


def _dependency_diff(
    old: Mapping[str, str | None], new: Mapping[str, str | None]
) -> DependencyDiff:
    added, removed, changed = [], [], []
    unchanged = 0
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            added.append(DependencyChange(name, Change.ADDED, new_version=new[name]))
        elif name not in new:
            removed.append(DependencyChange(name, Change.REMOVED, old_version=old[name]))
        elif old[name] != new[name]:
            changed.append(DependencyChange(name, Change.CHANGED, old[name], new[name]))
        else:
            unchanged += 1
    return DependencyDiff(tuple(added), tuple(removed), tuple(changed), unchanged)


def build_diff(*, old: Build | None, new: Build) -> BuildDiff:
    """What changes when `new` replaces `old` (None: an environment that runs nothing)."""
    old_functions = _by_path(old.function_versions) if old else {}
    old_assets = _by_path(old.asset_versions) if old else {}
    old_deps = {d.name: d.version for d in old.dependencies} if old else {}
    old_runtime = old.runtime if old else None
    runtime = RuntimeChange(old_runtime, new.runtime) if old_runtime != new.runtime else None
    return BuildDiff(
        old_build_sid=old.sid if old else None,
        new_build_sid=new.sid,
        functions=_file_diff(old_functions, _by_path(new.function_versions)),
        assets=_file_diff(old_assets, _by_path(new.asset_versions)),
        dependencies=_dependency_diff(old_deps, {d.name: d.version for d in new.dependencies}),
        runtime=runtime,
    )
