"""The demo seed holds what the dashboard and its tests rely on (see seed.py)."""

from __future__ import annotations

import itertools
import time

import pytest

from serverless_emulator import Emulator, Store
from serverless_emulator.store import RUNTIMES
from tests.emulator.helpers import Seeded

SERVICES = [
    "ivr-flows",
    "sms-notifications",
    "billing-webhooks",
    "partner-portal",
    "appointment-reminders",
]


def test_five_services_with_dev_stage_and_production(seeded: Seeded) -> None:
    services = seeded.store.services()
    assert [s.unique_name for s in services] == SERVICES
    for service in services:
        envs = seeded.store.environments(service.sid)
        assert [(e.unique_name, e.domain_suffix) for e in envs] == [
            ("dev", "dev"),
            ("stage", "stage"),
            ("production", None),
        ]
        assert envs[0].domain_name == f"{service.domain_base}-dev.twil.io"
        assert envs[2].domain_name == f"{service.domain_base}.twil.io"
        assert service.domain_base.startswith(f"{service.unique_name}-")


def test_one_friendly_name_needs_escaping(seeded: Seeded) -> None:
    assert (
        seeded.service("partner-portal").friendly_name == '<script>alert("x")</script> & Partners'
    )


def test_ivr_dev_has_the_longest_history(seeded: Seeded) -> None:
    counts = {
        (s.unique_name, e.unique_name): len(seeded.store.deployments(e.sid))
        for s in seeded.store.services()
        for e in seeded.store.environments(s.sid)
    }
    assert counts[("ivr-flows", "dev")] == 180
    assert max(counts, key=counts.__getitem__) == ("ivr-flows", "dev")
    assert 300 <= sum(counts.values()) <= 500


def test_billing_production_has_nothing_deployed(seeded: Seeded) -> None:
    production = seeded.env("billing-webhooks", "production")
    assert production.build_sid is None
    assert seeded.store.deployments(production.sid) == []
    assert seeded.store.logs(production.sid) == []
    assert seeded.store.variables(production.sid)  # configured, just never deployed


def test_every_live_build_is_the_newest_deployment_and_completed(seeded: Seeded) -> None:
    for service in seeded.store.services():
        for env in seeded.store.environments(service.sid):
            history = seeded.store.deployments(env.sid)
            if not history:
                continue
            assert env.build_sid is not None
            assert env.build_sid == history[0].build_sid
            assert seeded.store.build(env.build_sid).status == "completed"
            builds = [d.build_sid for d in history]
            assert all(a != b for a, b in itertools.pairwise(builds))
            dates = [d.date_created for d in history]
            assert dates == sorted(dates, reverse=True)
            for deployment in history:
                assert deployment.build_sid is not None  # nothing cleared in the seed
                assert (
                    seeded.store.build(deployment.build_sid).date_created < deployment.date_created
                )


def test_stage_and_production_are_sometimes_behind_and_sometimes_equal(seeded: Seeded) -> None:
    def live(service: str) -> tuple[str | None, str | None, str | None]:
        dev, stage, production = (
            seeded.env(service, n).build_sid for n in ("dev", "stage", "production")
        )
        return dev, stage, production

    dev, stage, production = live("ivr-flows")
    assert len({dev, stage, production}) == 3
    dev, stage, production = live("sms-notifications")
    assert dev == stage == production
    dev, stage, _ = live("partner-portal")
    assert dev != stage


def test_builds_in_all_three_statuses(seeded: Seeded) -> None:
    assert seeded.builds("ivr-flows")[0].status == "building"
    assert seeded.builds("partner-portal")[0].status == "building"
    assert seeded.builds("sms-notifications")[0].status == "failed"
    assert seeded.builds("ivr-flows", "failed")
    assert seeded.builds("billing-webhooks", "failed")
    all_builds = [b for s in SERVICES for b in seeded.builds(s)]
    assert {b.status for b in all_builds} == {"building", "completed", "failed"}
    assert {b.runtime for b in all_builds} == {"node18", "node20", "node22"}
    assert {b.runtime for b in all_builds} <= set(RUNTIMES)


def test_builds_carry_functions_assets_and_dependencies(seeded: Seeded) -> None:
    build = seeded.builds("ivr-flows", "completed")[0]
    assert "/voice/incoming" in {v.path for v in build.function_versions}
    assert {v.visibility for v in build.function_versions} == {"public", "protected", "private"}
    assert build.asset_versions
    names = {d.name: d.version for d in build.dependencies}
    assert names["twilio"].startswith("5.")
    assert names["@twilio/runtime-handler"].startswith("2.")
    assert "axios" in names


def test_logs_in_the_last_day_at_three_levels(seeded: Seeded) -> None:
    dev = seeded.env()
    now = time.time()
    recent = seeded.store.logs(dev.sid, start=now - 86400)
    everything = seeded.store.logs(dev.sid)
    assert 0 < len(recent) < len(everything)
    assert {log.level for log in everything} == {"info", "warn", "error"}
    assert all(log.message for log in everything)
    assert all(log.deployment_sid and log.build_sid for log in everything)


def test_variables_differ_between_environments(seeded: Seeded) -> None:
    def values(env: str) -> dict[str, str]:
        return {v.key: v.value for v in seeded.store.variables(seeded.env("ivr-flows", env).sid)}

    assert values("dev")["API_BASE_URL"] != values("production")["API_BASE_URL"]
    assert set(values("dev")) != set(values("production"))


def test_the_seed_is_deterministic_for_an_rng_seed() -> None:
    def sids(rng_seed: int | None) -> list[str]:
        store = Store(account_sid="AC" + "0" * 32)
        store.reset("demo", rng_seed=rng_seed)
        return [s.sid for s in store.services()] + [b.sid for b in store.builds("ivr-flows")]

    assert sids(None) == sids(None)
    assert sids(7) == sids(7)
    assert sids(7) != sids(8)


def test_seeding_is_fast() -> None:
    store = Store(account_sid="AC" + "0" * 32)
    started = time.perf_counter()
    store.reset("demo")
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\ndemo seed: {elapsed_ms:.1f} ms, {store.counts()}")
    assert elapsed_ms < 1000  # typically ~15 ms


@pytest.mark.parametrize("seed", ["empty", None])
def test_the_empty_seed_is_empty(seed: str | None) -> None:
    with Emulator(seed=seed) as emu:
        assert set(emu.store.counts().values()) == {0}


def test_an_unknown_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown seed"):
        Emulator(seed="bogus")


def test_store_reads_hand_out_copies(emulator: Emulator) -> None:
    service = emulator.store.service("ivr-flows")
    service.friendly_name = "changed by a test"
    builds = emulator.store.builds("ivr-flows")
    builds[0].function_versions.clear()
    assert emulator.store.service("ivr-flows").friendly_name == "IVR Flows"
    assert emulator.store.builds("ivr-flows")[0].function_versions
