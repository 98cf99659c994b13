"""Which way a promotion moves its target: by the builds' creation, then the target's history."""

from __future__ import annotations

from datetime import UTC, datetime

from deployments_app.services.history import Direction, builds_ran, promotion_direction
from deployments_app.services.serverless_types import Deployment

OLD, NEW, NEWER = ("ZB" + c * 32 for c in "abc")
CREATED = {
    OLD: datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
    NEW: datetime(2024, 5, 2, 9, 0, tzinfo=UTC),
    NEWER: datetime(2024, 5, 3, 9, 0, tzinfo=UTC),
}


def deployment(sid: str, build: str | None, day: int) -> Deployment:
    return Deployment.from_json(
        {"sid": sid, "build_sid": build, "date_created": f"2024-05-{day:02d}T10:00:00Z"}
    )


def direction(source: str | None, target: str | None, **kwargs: object) -> Direction:
    kwargs.setdefault("created", CREATED)
    return promotion_direction(source_build_sid=source, target_build_sid=target, **kwargs)  # type: ignore[arg-type]


def test_a_target_running_a_newer_build_is_moved_back():
    assert direction(OLD, NEW) == Direction.BACKWARD


def test_the_same_build_is_the_same():
    assert direction(NEW, NEW) == Direction.SAME


def test_a_newer_source_build_moves_the_target_forward():
    assert direction(NEWER, NEW) == Direction.FORWARD
    assert direction(NEW, None) == Direction.FORWARD  # into an empty environment


def test_a_rolled_back_source_never_promotes_as_a_step_forward():
    # stage ran OLD, then NEW (promoted on to production), then was rolled back to OLD.
    stage = [deployment("ZD1", OLD, 1), deployment("ZD2", NEW, 2), deployment("ZD3", OLD, 3)]
    production = [deployment("ZD4", OLD, 1), deployment("ZD5", NEW, 2)]
    assert builds_ran(stage) == (OLD, NEW)
    assert (
        promotion_direction(
            source_build_sid=OLD,
            target_build_sid=NEW,
            created=CREATED,
            target_ran=builds_ran(production),
        )
        == Direction.BACKWARD
    )


def test_the_order_builds_ran_in_does_not_override_their_creation():
    # production ran NEWER and was rolled back to NEW: promoting NEWER again is forward.
    production = [deployment("ZD1", NEWER, 1), deployment("ZD2", NEW, 2)]
    assert direction(NEWER, NEW, target_ran=builds_ran(production)) == Direction.FORWARD


def test_without_dates_the_target_history_tells_a_build_it_left_behind():
    same_second = dict.fromkeys((OLD, NEW), CREATED[OLD])
    production = [deployment("ZD1", OLD, 1), deployment("ZD2", NEW, 2)]
    ran = builds_ran(production)
    assert direction(OLD, NEW, created=same_second, target_ran=ran) == Direction.BACKWARD
    assert direction(OLD, NEW, created={}, target_ran=ran) == Direction.BACKWARD
    # A build the target never ran, with nothing to date it by: not called forward.
    assert direction(NEWER, NEW, created={}, target_ran=ran) == Direction.UNKNOWN


def test_builds_ran_lists_each_build_once_newest_first_whatever_the_order():
    history = [
        deployment("ZD3", OLD, 3),
        deployment("ZD1", OLD, 1),
        deployment("ZD4", None, 4),  # a clear is not a build
        deployment("ZD2", NEW, 2),
    ]
    assert builds_ran(history) == (OLD, NEW)
    assert builds_ran(history[::-1]) == (OLD, NEW)
    assert builds_ran([]) == ()
