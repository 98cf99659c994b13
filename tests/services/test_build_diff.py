"""build_diff on hand-made builds: what is added, removed, changed, and when nothing is."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from deployments_app.services.build_diff import Change, DiffCounts, RuntimeChange, build_diff
from deployments_app.services.serverless_types import (
    AssetVersion,
    Build,
    Dependency,
    FunctionVersion,
)


def fv(path: str, sid: str, visibility: str = "public") -> FunctionVersion:
    return FunctionVersion(sid=sid, path=path, visibility=visibility, date_created=None)


def av(path: str, sid: str, visibility: str = "public") -> AssetVersion:
    return AssetVersion(sid=sid, path=path, visibility=visibility, date_created=None)


def make_build(
    sid: str,
    *,
    functions: tuple[FunctionVersion, ...] = (),
    assets: tuple[AssetVersion, ...] = (),
    dependencies: dict[str, str] | None = None,
    runtime: str | None = "node22",
) -> Build:
    return Build(
        sid=sid,
        account_sid=None,
        service_sid="ZS" + "0" * 32,
        status="completed",
        runtime=runtime,
        function_versions=functions,
        asset_versions=assets,
        dependencies=tuple(Dependency(n, v) for n, v in (dependencies or {}).items()),
        date_created=None,
        date_updated=None,
        url=None,
    )


BASE = make_build(
    "ZB" + "1" * 32,
    functions=(fv("/voice/menu", "ZN01"), fv("/voice/gather", "ZN02", "protected")),
    assets=(av("/audio/welcome.mp3", "ZN10"),),
    dependencies={"twilio": "5.1.0", "axios": "1.7.0"},
)


def test_identical_builds_say_nothing_changes():
    same = make_build(
        "ZB" + "2" * 32,
        functions=BASE.function_versions,
        assets=BASE.asset_versions,
        dependencies={"axios": "1.7.0", "twilio": "5.1.0"},  # order does not matter
    )
    diff = build_diff(old=BASE, new=same)
    assert diff.is_empty
    assert diff.counts == DiffCounts(0, 0, 0)
    assert diff.runtime is None
    assert diff.functions.unchanged == 2
    assert diff.assets.unchanged == 1
    assert diff.dependencies.unchanged == 2
    # A build compared with itself is the same thing.
    assert build_diff(old=BASE, new=BASE).is_empty


def test_added_removed_and_changed_functions_are_grouped_by_path():
    new = make_build(
        "ZB" + "2" * 32,
        functions=(
            fv("/voice/menu", "ZN03"),  # new version
            fv("/voice/transfer", "ZN04", "protected"),  # new path
        ),  # /voice/gather is gone
        assets=BASE.asset_versions,
        dependencies={"twilio": "5.1.0", "axios": "1.7.0"},
    )
    diff = build_diff(old=BASE, new=new)
    functions = diff.functions
    assert [(c.path, c.new_sid, c.new_visibility) for c in functions.added] == [
        ("/voice/transfer", "ZN04", "protected")
    ]
    assert [(c.path, c.old_sid) for c in functions.removed] == [("/voice/gather", "ZN02")]
    (changed,) = functions.changed
    assert (changed.path, changed.old_sid, changed.new_sid) == ("/voice/menu", "ZN01", "ZN03")
    assert changed.version_changed
    assert not changed.visibility_changed
    assert functions.unchanged == 0
    assert [c.change for c in functions.changes] == [Change.ADDED, Change.CHANGED, Change.REMOVED]
    assert diff.assets.is_empty
    assert diff.counts == DiffCounts(added=1, removed=1, changed=1)
    assert diff.counts.total == 3
    assert not diff.is_empty


def test_a_visibility_change_with_the_same_version_is_a_change():
    new = make_build(
        "ZB" + "2" * 32,
        functions=BASE.function_versions,
        assets=(av("/audio/welcome.mp3", "ZN10", "private"),),
        dependencies={"twilio": "5.1.0", "axios": "1.7.0"},
    )
    diff = build_diff(old=BASE, new=new)
    (changed,) = diff.assets.changed
    assert changed.visibility_changed
    assert not changed.version_changed
    assert (changed.old_visibility, changed.new_visibility) == ("public", "private")
    assert diff.functions.is_empty
    assert diff.counts == DiffCounts(changed=1)


def test_a_runtime_change_alone_is_not_nothing():
    new = make_build(
        "ZB" + "2" * 32,
        functions=BASE.function_versions,
        assets=BASE.asset_versions,
        dependencies={"twilio": "5.1.0", "axios": "1.7.0"},
        runtime="node20",
    )
    diff = build_diff(old=BASE, new=new)
    assert diff.runtime == RuntimeChange(old="node22", new="node20")
    assert diff.counts == DiffCounts(0, 0, 0)  # the runtime is reported on its own
    assert not diff.is_empty


def test_dependencies_added_removed_and_changed_in_version():
    new = make_build(
        "ZB" + "2" * 32,
        functions=BASE.function_versions,
        assets=BASE.asset_versions,
        dependencies={"twilio": "5.2.0", "lodash": "4.17.21"},
    )
    deps = build_diff(old=BASE, new=new).dependencies
    assert [(d.name, d.new_version) for d in deps.added] == [("lodash", "4.17.21")]
    assert [(d.name, d.old_version) for d in deps.removed] == [("axios", "1.7.0")]
    assert [(d.name, d.old_version, d.new_version) for d in deps.changed] == [
        ("twilio", "5.1.0", "5.2.0")
    ]
    assert deps.unchanged == 0


def test_against_an_environment_that_runs_nothing_everything_is_added():
    diff = build_diff(old=None, new=BASE)
    assert diff.from_nothing
    assert diff.old_build_sid is None
    assert [c.path for c in diff.functions.added] == ["/voice/gather", "/voice/menu"]
    assert [c.path for c in diff.assets.added] == ["/audio/welcome.mp3"]
    assert [d.name for d in diff.dependencies.added] == ["axios", "twilio"]
    assert diff.runtime == RuntimeChange(old=None, new="node22")
    assert diff.counts == DiffCounts(added=5)
    assert not diff.is_empty
    # Even an empty build going live somewhere that ran nothing changes something.
    assert not build_diff(old=None, new=make_build("ZB" + "3" * 32, runtime=None)).is_empty


def test_changes_are_sorted_by_path_and_the_result_is_frozen():
    new = make_build(
        "ZB" + "2" * 32,
        functions=(fv("/z", "ZN21"), fv("/a", "ZN22"), fv("/m", "ZN23")),
    )
    diff = build_diff(old=make_build("ZB" + "1" * 32), new=new)
    assert [c.path for c in diff.functions.added] == ["/a", "/m", "/z"]
    with pytest.raises(FrozenInstanceError):
        diff.runtime = None  # type: ignore[misc]
