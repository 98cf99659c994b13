"""Create, read, update and delete for every resource; Logs filters; unique_name addressing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded, env_path
from tests.spec import validate_error


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_service_is_addressable_by_sid_or_unique_name(api: Api, seeded: Seeded) -> None:
    by_sid = api.get(f"/v1/Services/{seeded.service().sid}").json()
    by_name = api.get("/v1/Services/ivr-flows").json()
    assert by_sid == by_name
    assert len(api.get("/v1/Services/ivr-flows/Environments").json()["environments"]) == 3


def test_service_lifecycle(api: Api) -> None:
    created = api.post("/v1/Services", {"UniqueName": "fax-relay", "FriendlyName": "Fax Relay"})
    assert created.status_code == 201
    service = created.json()
    assert service["include_credentials"] is True  # the spec's default
    assert service["ui_editable"] is False
    assert service["domain_base"].startswith("fax-relay-")

    updated = api.post(
        "/v1/Services/fax-relay", {"FriendlyName": "Fax", "IncludeCredentials": "false"}
    ).json()
    assert (updated["friendly_name"], updated["include_credentials"]) == ("Fax", False)
    assert updated["date_created"] == service["date_created"]

    assert api.delete("/v1/Services/fax-relay").status_code == 204
    assert api.get(service["url"]).status_code == 404


def test_deleting_a_service_removes_everything_under_it(emulator: Emulator, api: Api) -> None:
    before = emulator.store.counts()
    assert api.delete("/v1/Services/ivr-flows").status_code == 204
    after = emulator.store.counts()
    assert after["services"] == before["services"] - 1
    assert after["deployments"] == before["deployments"] - 245
    assert after["environments"] == before["environments"] - 3


def test_environment_lifecycle(api: Api, seeded: Seeded) -> None:
    service = seeded.service()
    created = api.post(
        f"/v1/Services/{service.sid}/Environments", {"UniqueName": "qa", "DomainSuffix": "qa"}
    ).json()
    assert created["build_sid"] is None
    assert created["domain_name"] == f"{service.domain_base}-qa.twil.io"
    assert created["links"]["deployments"].endswith(f"/Environments/{created['sid']}/Deployments")
    assert api.get(created["links"]["deployments"]).json()["deployments"] == []

    assert api.delete(created["url"]).status_code == 204
    assert api.get(created["url"]).status_code == 404


def test_an_environment_without_suffix_uses_the_bare_domain(api: Api) -> None:
    api.post("/v1/Services", {"UniqueName": "bare", "FriendlyName": "Bare"})
    env = api.post("/v1/Services/bare/Environments", {"UniqueName": "production"}).json()
    assert env["domain_suffix"] is None
    assert env["domain_name"].endswith(".twil.io")
    assert env["domain_name"].count("-") == 1  # bare-1234.twil.io


def test_deleting_an_environment_removes_its_deployments_logs_and_variables(
    emulator: Emulator, api: Api, seeded: Seeded
) -> None:
    dev = seeded.env()
    assert api.delete(env_path(dev)).status_code == 204
    assert api.get(env_path(dev, "/Deployments")).status_code == 404
    remaining = {
        v.environment_sid
        for s in emulator.store.services()
        for e in emulator.store.environments(s.sid)
        for v in emulator.store.variables(e.sid)
    }
    assert dev.sid not in remaining


def test_variable_lifecycle(api: Api, seeded: Seeded) -> None:
    path = env_path(seeded.env("sms-notifications", "stage"), "/Variables")
    created = api.post(path, {"Key": "SENDER_ID", "Value": "ACME"}).json()
    assert (created["key"], created["value"]) == ("SENDER_ID", "ACME")

    renamed = api.post(created["url"], {"Key": "SENDER_NAME"}).json()
    assert (renamed["key"], renamed["value"]) == ("SENDER_NAME", "ACME")
    changed = api.post(created["url"], {"Value": ""}).json()
    assert changed["value"] == ""

    assert api.delete(created["url"]).status_code == 204
    assert api.get(created["url"]).status_code == 404
    too_big = api.post(path, {"Key": "BIG", "Value": "é" * 226})  # 452 bytes
    assert validate_error(400, too_big.content)["code"] == 20001


def test_function_and_asset_lifecycle(api: Api, seeded: Seeded) -> None:
    base = f"/v1/Services/{seeded.service().sid}"
    for kind, versions_link in (("Functions", "function_versions"), ("Assets", "asset_versions")):
        created = api.post(f"{base}/{kind}", {"FriendlyName": "new one"}).json()
        assert api.get(created["links"][versions_link]).json()[versions_link] == []
        renamed = api.post(created["url"], {"FriendlyName": "renamed"}).json()
        assert renamed["friendly_name"] == "renamed"
        assert api.delete(created["url"]).status_code == 204
        assert api.get(created["url"]).status_code == 404


def test_function_version_content(api: Api, seeded: Seeded) -> None:
    service = seeded.service()
    function = seeded.store.functions(service.sid)[0]
    version = api.get(
        f"/v1/Services/{service.sid}/Functions/{function.sid}/Versions", PageSize=1
    ).json()["function_versions"][0]

    content = api.get(version["links"]["function_version_content"]).json()

    assert content["sid"] == version["sid"]
    assert "exports.handler" in content["content"]
    assert version["path"] in content["content"]


def test_a_version_under_the_wrong_function_is_404(api: Api, seeded: Seeded) -> None:
    service = seeded.service()
    first, second = seeded.store.functions(service.sid)[:2]
    version = seeded.store.function_versions(first.sid)[0]
    path = f"/v1/Services/{service.sid}/Functions/{second.sid}/Versions/{version.sid}"
    assert api.get(path).status_code == 404


class TestLogs:
    def test_default_window_is_the_last_day(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        default = api.get(env_path(dev, "/Logs"), PageSize=1000).json()["logs"]
        week = api.get(
            env_path(dev, "/Logs"),
            PageSize=1000,
            StartDate=iso(datetime.now(UTC) - timedelta(days=7)),
        ).json()["logs"]
        assert len(default) == 40
        assert len(week) == 45
        assert {log["level"] for log in week} == {"info", "warn", "error"}
        dates = [log["date_created"] for log in week]
        assert dates == sorted(dates, reverse=True)

    def test_filter_by_function(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        function_sid = seeded.store.logs(dev.sid)[0].function_sid
        logs = api.get(env_path(dev, "/Logs"), FunctionSid=function_sid).json()["logs"]
        assert logs
        assert {log["function_sid"] for log in logs} == {function_sid}

    def test_end_date_bounds_the_window(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        end = datetime.now(UTC) - timedelta(hours=12)
        logs = api.get(
            env_path(dev, "/Logs"),
            StartDate=iso(end - timedelta(days=3)),
            EndDate=iso(end),
            PageSize=1000,
        ).json()["logs"]
        assert logs
        assert all(log["date_created"] <= iso(end) for log in logs)

    def test_filters_travel_in_every_meta_url(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        start = iso(datetime.now(UTC) - timedelta(days=7))
        meta = api.get(env_path(dev, "/Logs"), StartDate=start, PageSize=10).json()["meta"]
        for name in ("url", "first_page_url", "next_page_url"):
            assert parse_qs(urlsplit(meta[name]).query)["StartDate"] == [start]
        pages = api.pages(env_path(dev, "/Logs"), StartDate=start, PageSize=10)
        assert sum(len(p["logs"]) for p in pages) == 45

    def test_bad_filters_are_400(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        for params in ({"StartDate": "yesterday"}, {"FunctionSid": "ZX123"}):
            response = api.request("GET", env_path(dev, "/Logs"), params=params)
            assert validate_error(400, response.content)["code"] == 20001

    def test_a_log_is_fetchable(self, api: Api, seeded: Seeded) -> None:
        dev = seeded.env()
        log = api.get(env_path(dev, "/Logs"), PageSize=1).json()["logs"][0]
        assert api.get(log["url"]).json() == log
