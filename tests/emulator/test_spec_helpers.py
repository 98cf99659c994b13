"""tests/spec.py catches what it should: other suites rely on validate_request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serverless_emulator import RecordedRequest
from tests import spec

AUTH = {"Authorization": "Basic QUNkZWMwZGU6eA=="}
FORM = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
ZS, ZE, ZB = "ZS" + "0" * 32, "ZE" + "0" * 32, "ZB" + "0" * 32


def recorded(
    method: str,
    path: str,
    *,
    query: dict[str, list[str]] | None = None,
    form: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> RecordedRequest:
    return RecordedRequest(
        method=method,
        path=path,
        query=query or {},
        form=form or {},
        headers=FORM if headers is None else headers,
        status=200,
        response_body=b"",
    )


def test_the_vendored_spec_is_the_shared_one_unchanged() -> None:
    vendored = Path(spec.__file__).parent / "data/twilio_serverless_v1.json"
    assert vendored.read_bytes() == spec.SPEC_PATH.read_bytes()
    assert (vendored.parent / "LICENSE-twilio-oai").exists()


@pytest.mark.parametrize(
    "request_",
    [
        recorded("GET", "/v1/Services", query={"PageSize": ["50"], "PageToken": ["PAabc"]}),
        recorded(
            "POST", f"/v1/Services/{ZS}/Environments/{ZE}/Deployments", form={"BuildSid": [ZB]}
        ),
        recorded("POST", f"/v1/Services/{ZS}/Environments/{ZE}/Deployments", headers=AUTH),
        recorded(
            "POST",
            "/v1/Services/ivr-flows/Builds",
            form={"FunctionVersions": ["ZN" + "1" * 32] * 2},
        ),
        recorded("DELETE", f"/v1/Services/{ZS}"),
    ],
    ids=["list", "deploy", "clear", "build", "delete"],
)
def test_valid_requests_pass(request_: RecordedRequest) -> None:
    spec.validate_request(request_)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (recorded("GET", "/v1/Services", headers={}), "Security"),
        (recorded("GET", "/v1/Services", query={"PageSize": ["5000"]}), "PageSize"),
        (recorded("POST", "/v1/Services", form={"FriendlyName": ["x"]}), "UniqueName"),
        (
            recorded(
                "POST",
                f"/v1/Services/{ZS}/Environments/{ZE}/Deployments",
                form={"BuildSid": ["nope"]},
            ),
            "BuildSid",
        ),
        (recorded("GET", f"/v1/Services/{ZS}/Environments/bad"), "Sid"),
        (recorded("PUT", "/v1/Services"), "PUT"),
        (recorded("GET", "/v2/Services"), "/v2/Services"),
    ],
    ids=[
        "no-auth",
        "page-size",
        "missing-param",
        "bad-build-sid",
        "bad-path-sid",
        "method",
        "path",
    ],
)
def test_invalid_requests_fail_with_a_reason(request_: RecordedRequest, reason: str) -> None:
    with pytest.raises(AssertionError, match="does not match the spec") as failure:
        spec.validate_request(request_)
    assert reason in str(failure.value)


def test_validate_response_rejects_a_wrong_field() -> None:
    url = f"https://emulator.test/v1/Services/{ZS}/Builds/{ZB}/Status"
    good = {"sid": ZB, "account_sid": "AC" + "0" * 32, "service_sid": ZS, "status": "building"}
    spec.validate_response(
        "GET", url, 200, {"Content-Type": "application/json"}, json.dumps(good).encode()
    )
    bad = {**good, "status": "queued"}
    with pytest.raises(AssertionError, match="queued"):
        spec.validate_response(
            "GET", url, 200, {"Content-Type": "application/json"}, json.dumps(bad).encode()
        )


@pytest.mark.parametrize(
    "body",
    [
        {"code": 20404, "message": "Not found", "status": 404},
        {"code": 20404, "message": "x", "more_info": "https://example.com/20404", "status": 404},
        {
            "code": 20404,
            "message": "x",
            "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 400,
        },
        {"error": "nope"},
    ],
    ids=["no-more-info", "foreign-more-info", "status-mismatch", "not-twilio"],
)
def test_error_bodies_must_be_twilio_shaped(body: dict) -> None:
    with pytest.raises(AssertionError):
        spec.validate_error(404, json.dumps(body).encode())


def test_the_emulator_routes_exactly_the_spec_operations() -> None:
    from serverless_emulator.api import ROUTES

    found = {(method, path) for method, path, _ in spec.operations()}
    assert ("POST", "/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Deployments") in found
    # The emulator names /v1/Services/{Sid}'s segment like the spec does.
    assert {(route.method, route.template) for route in ROUTES} == found
