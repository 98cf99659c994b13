"""Parts of the client that need no upstream: parsing, cursors, configuration."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from urllib3 import HTTPResponse

from deployments_app.services import serverless
from deployments_app.services.history import newest_of
from deployments_app.services.serverless import ClientConfig, ServerlessClient, get_client
from deployments_app.services.serverless_errors import InvalidRequest
from deployments_app.services.serverless_paging import (
    decode_cursor,
    encode_cursor,
    relative_target,
)
from deployments_app.services.serverless_types import (
    AssetVersion,
    Build,
    BuildStatus,
    Dependency,
    Deployment,
    Environment,
    Function,
    FunctionVersion,
    Log,
    Service,
    Variable,
)

ZS = "ZS" + "a" * 32
ZE = "ZE" + "b" * 32
OTHER_ZE = "ZE" + "c" * 32
ZB = "ZB" + "d" * 32


@pytest.fixture
def offline_client():
    client = ServerlessClient(
        ClientConfig(base_url="http://127.0.0.1:9", account_sid="AC" + "0" * 32, auth_token="t")
    )
    yield client
    client.close()


def cursor_for(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_dates_become_aware_and_unknown_fields_are_ignored():
    env = Environment.from_json(
        {
            "sid": ZE,
            "service_sid": ZS,
            "build_sid": None,
            "date_created": "2018-11-10T20:00:00Z",
            "date_updated": "not a date",
            "a_field_twilio_adds_later": {"x": 1},
        }
    )
    assert env.date_created == datetime(2018, 11, 10, 20, 0, tzinfo=UTC)
    assert env.date_updated is None
    assert env.build_sid is None
    assert env.unique_name is None


def test_build_keeps_its_full_manifest_whatever_the_entry_shape():
    build = Build.from_json(
        {
            "sid": ZB,
            "status": "completed",
            "runtime": "node22",
            "function_versions": [
                {
                    "sid": "ZN" + "1" * 32,
                    "function_sid": "ZH" + "2" * 32,
                    "path": "/f",
                    "visibility": "PUBLIC",
                    "date_created": "2018-11-10T20:00:00Z",
                },
                "ZN" + "3" * 32,  # the spec's description says "SIDs"
            ],
            "asset_versions": None,
            "dependencies": [{"name": "twilio", "version": "3.29.2"}],
        }
    )
    assert build.is_completed
    assert [v.sid for v in build.function_versions] == ["ZN" + "1" * 32, "ZN" + "3" * 32]
    assert build.function_versions[0].visibility == "public"
    assert build.function_versions[0].path == "/f"
    assert build.asset_versions == ()
    assert build.dependencies[0].name == "twilio"


def test_a_clear_deployment_has_no_build():
    assert Deployment.from_json({"sid": "ZD" + "0" * 32, "build_sid": None}).build_sid is None
    assert Deployment.from_json({"sid": "ZD" + "0" * 32, "build_sid": ""}).build_sid is None


@pytest.mark.parametrize(
    "resource",
    [
        Service,
        Environment,
        FunctionVersion,
        AssetVersion,
        Dependency,
        Build,
        BuildStatus,
        Deployment,
        Function,
        Log,
        Variable,
    ],
)
def test_every_resource_reads_an_object_with_nothing_in_it(resource):
    parsed = resource.from_json({"a_field_twilio_adds_later": 1})
    values = vars(parsed)
    required = "name" if resource is Dependency else "sid"
    assert values.pop(required) == ""
    assert all(value in (None, ()) for value in values.values()), values


def test_function_and_asset_versions_parse_alike():
    entry = {
        "sid": "ZN" + "1" * 32,
        "function_sid": "ZH" + "2" * 32,
        "asset_sid": "ZH" + "3" * 32,
        "account_sid": "AC" + "4" * 32,
        "path": "/x",
        "visibility": "PROTECTED",
        "date_created": "2018-11-10T20:00:00+01:00",
    }
    function = FunctionVersion.from_json(entry)
    asset = AssetVersion.from_json(entry)
    assert (function.function_sid, asset.asset_sid) == ("ZH" + "2" * 32, "ZH" + "3" * 32)
    for version in (function, asset):
        assert (version.sid, version.path, version.visibility) == (entry["sid"], "/x", "protected")
        assert version.account_sid == entry["account_sid"]
        assert version.date_created == datetime(2018, 11, 10, 19, 0, tzinfo=UTC)
    assert AssetVersion.from_json("ZN" + "5" * 32) == AssetVersion(
        sid="ZN" + "5" * 32, asset_sid=None, path=None, visibility=None, date_created=None
    )


def test_variable_values_stay_out_of_repr():
    variable = Variable.from_json({"sid": "ZV" + "0" * 32, "key": "API_KEY", "value": "hunter2"})
    assert "hunter2" not in repr(variable)
    assert variable.value == "hunter2"


def test_config_repr_hides_the_secrets():
    config = ClientConfig(account_sid="AC" + "1" * 32, auth_token="tok-123", api_secret="sec-456")
    assert "tok-123" not in repr(config)
    assert "sec-456" not in repr(config)


def test_config_refuses_credentials_in_the_base_url():
    with pytest.raises(ValueError, match="credentials"):
        ClientConfig(base_url="https://user:pass@serverless.twilio.com")


def test_config_from_settings_reads_every_twilio_setting():
    with override_settings(
        TWILIO_SERVERLESS_BASE_URL="http://127.0.0.1:8787",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_API_KEY="SK" + "2" * 32,
        TWILIO_API_SECRET="secret",
        TWILIO_CONNECT_TIMEOUT=1.5,
        TWILIO_READ_TIMEOUT=7,
        TWILIO_MAX_CONCURRENCY=3,
        TWILIO_MAX_ATTEMPTS=2,
        TWILIO_RETRY_BUDGET_SECONDS=4,
        TWILIO_RETRY_AFTER_CAP_SECONDS=1.5,
        TWILIO_PAGE_SIZE_DEFAULT=20,
        VERSION="9.9.9",
    ):
        config = ClientConfig.from_settings()
    assert config.base_url == "http://127.0.0.1:8787"
    assert (config.connect_timeout, config.read_timeout) == (1.5, 7.0)
    assert (config.max_concurrency, config.max_attempts, config.retry_budget_seconds) == (3, 2, 4.0)
    assert (config.retry_after_cap_seconds, config.page_size_default) == (1.5, 20)
    assert config.user_agent.startswith("twilio-serverless-release-dashboard/9.9.9")
    # An API key and secret take precedence over the account's auth token.
    assert config.auth_pair() == ("SK" + "2" * 32, "secret")


def test_the_clients_own_defaults_are_the_settings_defaults():
    # dashboard/settings.py holds the defaults; a client built without settings (tests,
    # scripts) must not drift from them. Variables set in this environment are skipped.
    defaults = ClientConfig()
    names = {
        "TWILIO_CONNECT_TIMEOUT": defaults.connect_timeout,
        "TWILIO_READ_TIMEOUT": defaults.read_timeout,
        "TWILIO_MAX_CONCURRENCY": defaults.max_concurrency,
        "TWILIO_MAX_ATTEMPTS": defaults.max_attempts,
        "TWILIO_RETRY_BUDGET_SECONDS": defaults.retry_budget_seconds,
        "TWILIO_RETRY_AFTER_CAP_SECONDS": defaults.retry_after_cap_seconds,
        "TWILIO_PAGE_SIZE_DEFAULT": defaults.page_size_default,
    }
    for name, default in names.items():
        if not os.environ.get(name):
            assert getattr(settings, name) == default, name
    assert defaults.version == settings.VERSION


def test_get_client_is_shared_and_follows_settings_changes():
    serverless.reset_client()
    first = get_client()
    assert get_client() is first
    with override_settings(TWILIO_SERVERLESS_BASE_URL="http://127.0.0.1:8788"):
        inside = get_client()
        assert inside is not first
        assert inside.config.base_url == "http://127.0.0.1:8788"
    assert get_client() is not inside
    serverless.reset_client()


def test_a_cursor_is_url_safe_and_carries_no_host():
    path = f"/v1/Services/{ZS}/Environments/{ZE}/Deployments"
    target = relative_target(
        f"https://serverless.twilio.com{path}?PageSize=50&Page=1&PageToken=PAabc", base_path=""
    )
    cursor = encode_cursor(target)
    assert cursor is not None
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor, expected_path=path) == f"{path}?PageSize=50&Page=1&PageToken=PAabc"


@pytest.mark.parametrize(
    "raw",
    [
        "http://evil.example/v1/Services/{ZS}/Environments/{ZE}/Deployments?PageSize=5",
        "//evil.example/v1/Services/{ZS}/Environments/{ZE}/Deployments",
        "/v1/Services/{ZS}/Environments/{OTHER_ZE}/Deployments?PageSize=5",
        "/v1/Services/{ZS}/Environments/{ZE}/Variables?PageSize=5",
        "/v1/Services/{ZS}/Environments/{ZE}/Deployments/../Variables",
        "/v1/Services/{ZS}/Environments/{ZE}/Deployments?PageSize=5&Evil=1",
        "/v1/Services/{ZS}/Environments/{ZE}/Deployments?PageSize=5000",
        "/admin/?x=/v1/",
        "",
    ],
)
def test_a_cursor_cannot_lead_elsewhere(raw):
    path = f"/v1/Services/{ZS}/Environments/{ZE}/Deployments"
    cursor = cursor_for(raw.format(ZS=ZS, ZE=ZE, OTHER_ZE=OTHER_ZE))
    with pytest.raises(InvalidRequest):
        decode_cursor(cursor, expected_path=path)


def test_garbage_cursor_is_refused(offline_client):
    with pytest.raises(InvalidRequest, match="page link"):
        offline_client.deployment_page(service_sid=ZS, environment_sid=ZE, cursor="%%%not-base64")


def test_malformed_sids_are_refused_before_any_request(offline_client):
    with pytest.raises(InvalidRequest) as caught:
        offline_client.environment_get(service_sid=ZS, environment_sid="ZE123")
    assert caught.value.attempts == 0
    with pytest.raises(InvalidRequest):
        offline_client.service_get(service="../../admin")
    assert offline_client.stats.requests_sent == 0


def test_page_size_must_be_within_the_spec(offline_client):
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        offline_client.deployment_page(service_sid=ZS, environment_sid=ZE, page_size=1001)
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        offline_client.deployment_page(service_sid=ZS, environment_sid=ZE, page_size=0)


def test_retry_after_reads_seconds_and_http_dates():
    policy = serverless._ReadRetry()

    def retry_after(value: str | None) -> float | None:
        headers = {"Retry-After": value} if value is not None else {}
        return policy.get_retry_after(HTTPResponse(headers=headers))

    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert seconds is not None
    assert 25 <= seconds <= 31


def test_log_filters_need_aware_datetimes(offline_client):
    with pytest.raises(ValueError, match="timezone-aware"):
        offline_client.log_page(service_sid=ZS, environment_sid=ZE, start_date=datetime(2024, 1, 1))


def test_live_since_does_not_depend_on_the_order_of_the_list():
    def deployment(sid: str, build: str | None, minute: int) -> Deployment:
        return Deployment.from_json(
            {"sid": sid, "build_sid": build, "date_created": f"2024-05-01T10:{minute:02d}:00Z"}
        )

    history = [
        deployment("ZD1", ZB, 1),
        deployment("ZD2", "ZB" + "e" * 32, 2),
        deployment("ZD3", ZB, 3),  # the same build deployed again: live since then
        deployment("ZD4", None, 0),
    ]
    for order in (history, history[::-1], [history[2], history[0], history[3], history[1]]):
        newest = newest_of(order, ZB)
        assert newest is not None
        assert newest.sid == "ZD3"
    assert newest_of(history, None).sid == "ZD4"
    assert newest_of(history, "ZB" + "f" * 32) is None
