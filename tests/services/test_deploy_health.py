"""Error counts after a deploy, against the emulator with logs injected at known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from deployments_app.services import deploy_health as health_module
from deployments_app.services.deploy_health import deploy_health, deploy_health_cached

NOW = datetime.now(UTC).replace(microsecond=0)
SINCE = NOW - timedelta(minutes=20)


@pytest.fixture
def quiet(seed):
    """billing-webhooks/production: nothing deployed, no logs; only what a test injects."""
    env = seed.env("billing-webhooks", "production")
    assert seed.store.logs(env.sid) == []
    return env


def inject(emulator, env, *moments_and_levels: tuple[datetime, str]) -> None:
    with emulator.store.batch():
        for at, level in moments_and_levels:
            emulator.store.add_log(
                env.sid, level=level, message=f"{level} line", date_created=at.timestamp()
            )


def log_reads(emulator) -> list[dict[str, list[str]]]:
    return [r.query for r in emulator.requests if r.path.endswith("/Logs")]


def test_counts_errors_since_the_deploy_beside_an_equal_window_before(api, emulator, quiet) -> None:
    minute = timedelta(minutes=1)
    inject(
        emulator,
        quiet,
        (SINCE + 2 * minute, "error"),
        (SINCE + 5 * minute, "error"),
        (SINCE + 19 * minute, "error"),
        (SINCE + 6 * minute, "info"),
        (SINCE + 7 * minute, "warn"),
        (SINCE - 3 * minute, "error"),
        (SINCE - 4 * minute, "info"),
        # Older than the window before: not counted anywhere.
        (SINCE - 25 * minute, "error"),
    )
    health = deploy_health(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=SINCE, client=api, now=NOW
    )
    assert (health.errors_after, health.errors_before) == (3, 1)
    assert health.window == timedelta(minutes=20)
    assert health.window_label == "20 min"
    assert health.rising is True
    assert not health.after_is_lower_bound
    assert not health.before_is_lower_bound


def test_both_windows_are_read_with_date_filters(api, emulator, quiet) -> None:
    deploy_health(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=SINCE, client=api, now=NOW
    )
    windows = sorted((q["StartDate"][0], q["EndDate"][0]) for q in log_reads(emulator))

    def iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert windows == [
        (iso(SINCE - timedelta(minutes=20)), iso(SINCE - timedelta(seconds=1))),
        (iso(SINCE), iso(NOW)),
    ]


def test_a_log_at_the_deploy_second_is_counted_once_after_it(api, emulator, quiet) -> None:
    inject(emulator, quiet, (SINCE, "error"))
    health = deploy_health(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=SINCE, client=api, now=NOW
    )
    assert (health.errors_after, health.errors_before) == (1, 0)


def test_fewer_or_equal_errors_after_the_deploy_are_not_rising(api, emulator, quiet) -> None:
    minute = timedelta(minutes=1)
    inject(
        emulator,
        quiet,
        (SINCE + minute, "error"),
        (SINCE - minute, "error"),
        (SINCE - 2 * minute, "error"),
    )
    health = deploy_health(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=SINCE, client=api, now=NOW
    )
    assert (health.errors_after, health.errors_before) == (1, 2)
    assert health.rising is False


def test_paging_stops_after_max_pages_and_says_at_least(api, emulator, quiet, monkeypatch) -> None:
    monkeypatch.setattr(health_module, "HEALTH_PAGE_SIZE", 5)
    inject(emulator, quiet, *[(SINCE + timedelta(seconds=10 * n), "error") for n in range(12)])
    inject(emulator, quiet, *[(SINCE - timedelta(seconds=10 + n), "error") for n in range(3)])
    emulator.requests.clear()
    health = deploy_health(
        service_sid=quiet.service_sid,
        environment_sid=quiet.sid,
        since=SINCE,
        client=api,
        now=NOW,
        max_pages=2,
    )
    assert health.errors_after == 10
    assert health.after_is_lower_bound is True
    assert (health.errors_before, health.before_is_lower_bound) == (3, False)
    assert health.rising is True
    # Two pages after (then it stopped), one page before.
    assert len(log_reads(emulator)) == 3


def test_a_lower_bound_before_the_deploy_never_claims_rising(
    api, emulator, quiet, monkeypatch
) -> None:
    monkeypatch.setattr(health_module, "HEALTH_PAGE_SIZE", 2)
    inject(emulator, quiet, *[(SINCE + timedelta(seconds=n + 1), "error") for n in range(5)])
    inject(emulator, quiet, *[(SINCE - timedelta(seconds=n + 1), "error") for n in range(5)])
    health = deploy_health(
        service_sid=quiet.service_sid,
        environment_sid=quiet.sid,
        since=SINCE,
        client=api,
        now=NOW,
        max_pages=1,
    )
    assert health.before_is_lower_bound is True
    assert health.rising is False


def test_the_cached_counts_are_kept_per_environment_and_deploy_time(
    api, emulator, quiet, settings
) -> None:
    settings.DASHBOARD_LIVE_CACHE_SECONDS = 60
    cache.clear()
    inject(emulator, quiet, (NOW - timedelta(minutes=1), "error"))
    since = NOW - timedelta(minutes=5)
    first = deploy_health_cached(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=since, client=api
    )
    emulator.requests.clear()
    again = deploy_health_cached(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=since, client=api
    )
    assert again == first
    assert log_reads(emulator) == []
    other = deploy_health_cached(
        service_sid=quiet.service_sid,
        environment_sid=quiet.sid,
        since=since - timedelta(minutes=1),
        client=api,
    )
    assert len(log_reads(emulator)) == 2
    assert other.since != first.since
    cache.clear()


def test_errors_logged_by_a_build_deployed_with_an_error_rate_are_counted(
    api, emulator, seed
) -> None:
    """The emulator's traffic profile: a build that fails half its invocations once live."""
    env = seed.env("sms-notifications", "stage")
    build = next(b for b in seed.builds("sms-notifications", "completed") if b.sid != env.build_sid)
    emulator.store.set_build_traffic(build.sid, error_rate=0.5, every=60)
    deployed = api.deployment_create(
        service_sid=env.service_sid, environment_sid=env.sid, build_sid=build.sid
    )
    assert deployed.deployment is not None
    since = deployed.deployment.date_created
    clock = emulator.store.clock
    emulator.store.clock = lambda: clock() + 600  # ten minutes later
    health = deploy_health(
        service_sid=env.service_sid,
        environment_sid=env.sid,
        since=since,
        client=api,
        now=since + timedelta(minutes=10),
    )
    assert health.errors_after == 5
    before = emulator.store.logs(
        env.sid,
        start=(since - timedelta(minutes=10)).timestamp(),
        end=(since - timedelta(seconds=1)).timestamp(),
    )
    assert health.errors_before == sum(log.level == "error" for log in before)
    assert health.rising is (health.errors_before < 5)


@pytest.mark.parametrize(
    ("since", "message"),
    [
        (datetime(2025, 1, 1), "timezone-aware"),
        (NOW + timedelta(hours=1), "future"),
    ],
)
def test_a_deploy_time_that_cannot_be_used_is_refused(api, quiet, since, message) -> None:
    with pytest.raises(ValueError, match=message):
        deploy_health(
            service_sid=quiet.service_sid,
            environment_sid=quiet.sid,
            since=since,
            client=api,
            now=NOW,
        )


def test_page_queries_name_the_service_and_environment(api, emulator, quiet) -> None:
    deploy_health(
        service_sid=quiet.service_sid, environment_sid=quiet.sid, since=SINCE, client=api, now=NOW
    )
    paths = {r.path for r in emulator.requests if r.path.endswith("/Logs")}
    assert paths == {f"/v1/Services/{quiet.service_sid}/Environments/{quiet.sid}/Logs"}
