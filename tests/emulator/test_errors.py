"""Twilio-style errors: auth, unknown resources and paths, bad parameters, conflicts.

Every answer here is also checked against ERROR_SCHEMA by the Api helper.
"""

from __future__ import annotations

import base64

import pytest
import requests

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded, env_path
from tests.spec import validate_error

ZEROS = "0" * 32


def error_of(response: requests.Response, status: int, code: int) -> dict:
    body = validate_error(response.status_code, response.content)
    assert (response.status_code, body["code"]) == (status, code), body
    return body


@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("ACdec0de00000000000000000000000000", "wrong-token"),
        ("AC" + "1" * 32, "emulator-demo-auth-token"),
        ("SK" + "1" * 32, "secret"),
    ],
    ids=["missing", "wrong-token", "wrong-account", "unknown-api-key"],
)
def test_bad_or_missing_basic_auth_is_401_20003(emulator: Emulator, auth: tuple | None) -> None:
    response = requests.get(f"{emulator.base_url}/v1/Services", auth=auth, timeout=5)
    body = error_of(response, 401, 20003)
    assert body["message"] == "Authenticate"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_garbled_authorization_header_is_401(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.base_url}/v1/Services", headers={"Authorization": "Basic !!!"}, timeout=5
    )
    error_of(response, 401, 20003)


def test_unknown_paths_need_auth_too(emulator: Emulator) -> None:
    # Like Twilio: auth first, so an unauthenticated caller learns nothing.
    response = requests.get(f"{emulator.base_url}/v2/Nothing", timeout=5)
    error_of(response, 401, 20003)


def test_api_key_and_secret_authenticate(emulator_factory) -> None:
    key = "SK" + "a" * 32
    emu = emulator_factory(api_keys={key: "key-secret"})
    ok = requests.get(f"{emu.base_url}/v1/Services", auth=(key, "key-secret"), timeout=5)
    bad = requests.get(f"{emu.base_url}/v1/Services", auth=(key, "nope"), timeout=5)
    assert ok.status_code == 200
    error_of(bad, 401, 20003)


def test_configured_credentials_replace_the_demo_ones(emulator_factory) -> None:
    emu = emulator_factory(account_sid="AC" + "b" * 32, auth_token="t0ken", seed="empty")
    ok = requests.get(f"{emu.base_url}/v1/Services", auth=(emu.account_sid, "t0ken"), timeout=5)
    demo = requests.get(
        f"{emu.base_url}/v1/Services",
        auth=("ACdec0de00000000000000000000000000", "emulator-demo-auth-token"),
        timeout=5,
    )
    assert ok.status_code == 200
    assert demo.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/Services/ZS{ZEROS}",
        "/v1/Services/no-such-service",
        f"/v1/Services/ivr-flows/Environments/ZE{ZEROS}",
        f"/v1/Services/ivr-flows/Builds/ZB{ZEROS}",
        f"/v1/Services/ivr-flows/Builds/ZB{ZEROS}/Status",
        f"/v1/Services/ivr-flows/Functions/ZH{ZEROS}",
        f"/v1/Services/ivr-flows/Assets/ZH{ZEROS}/Versions",
        "/v1/Nothing",
        "/v2/Services",
        "/",
    ],
)
def test_unknown_resources_and_paths_are_404_20404(api: Api, path: str) -> None:
    body = error_of(api.get(path), 404, 20404)
    assert body["message"] == f"The requested resource {path} was not found"


def test_an_environment_of_another_service_is_404(api: Api, seeded: Seeded) -> None:
    other = seeded.env("sms-notifications", "dev")
    path = f"/v1/Services/{seeded.service('ivr-flows').sid}/Environments/{other.sid}"
    error_of(api.get(path), 404, 20404)


def test_a_deployment_read_through_the_wrong_environment_is_404(api: Api, seeded: Seeded) -> None:
    dev, stage = seeded.env(name="dev"), seeded.env(name="stage")
    deployment = seeded.store.deployments(dev.sid)[0]
    error_of(api.get(env_path(stage, f"/Deployments/{deployment.sid}")), 404, 20404)


@pytest.mark.parametrize(
    "tail",
    [
        "/Environments/not-a-sid",
        f"/Environments/ZB{ZEROS}",
        f"/Environments/ZE{ZEROS[:-1]}",
        "/Builds/ZBnothex0000000000000000000000000",
        f"/Builds/ZE{ZEROS}/Status",
        "/Functions/oops/Versions",
        f"/Functions/ZH{ZEROS}/Versions/ZV{ZEROS}",
        "/Assets/asset",
        f"/Environments/ZE{ZEROS}/Deployments/42",
        f"/Environments/ZE{ZEROS}/Variables/KEY",
        f"/Environments/ZE{ZEROS}/Logs/ZD{ZEROS}",
    ],
)
def test_a_malformed_sid_in_the_path_is_400_20001(api: Api, tail: str) -> None:
    body = error_of(api.get(f"/v1/Services/ivr-flows{tail}"), 400, 20001)
    assert "does not match" in body["message"]


def test_an_unsupported_method_is_405(api: Api) -> None:
    error_of(api.request("PUT", "/v1/Services"), 405, 20004)
    error_of(api.request("DELETE", "/v1/Services"), 405, 20004)


@pytest.mark.parametrize(
    ("tail", "data", "missing"),
    [
        ("", {"FriendlyName": "x"}, "UniqueName"),
        ("", {"UniqueName": "x"}, "FriendlyName"),
        ("/ivr-flows/Environments", {"DomainSuffix": "qa"}, "UniqueName"),
        ("/ivr-flows/Functions", {}, "FriendlyName"),
        ("/ivr-flows/Assets", {}, "FriendlyName"),
    ],
)
def test_a_missing_required_parameter_is_400_20001(
    api: Api, tail: str, data: dict, missing: str
) -> None:
    body = error_of(api.post(f"/v1/Services{tail}", data=data), 400, 20001)
    assert missing in body["message"]


def test_variables_need_key_and_value(api: Api, seeded: Seeded) -> None:
    path = env_path(seeded.env(), "/Variables")
    assert "Value" in error_of(api.post(path, {"Key": "K"}), 400, 20001)["message"]
    assert "Key" in error_of(api.post(path, {"Value": "v"}), 400, 20001)["message"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"UniqueName": "bad name!", "FriendlyName": "x"}, "UniqueName"),
        ({"UniqueName": "x" * 51, "FriendlyName": "x"}, "50 characters"),
        ({"UniqueName": "fine", "FriendlyName": "x" * 256}, "255 characters"),
        ({"UniqueName": "fine", "FriendlyName": "x", "UiEditable": "maybe"}, "true or false"),
    ],
)
def test_invalid_service_parameters_are_400(api: Api, data: dict, words: str) -> None:
    assert words in error_of(api.post("/v1/Services", data), 400, 20001)["message"]


def test_duplicate_unique_names_and_keys_are_409(api: Api, seeded: Seeded) -> None:
    error_of(api.post("/v1/Services", {"UniqueName": "ivr-flows", "FriendlyName": "x"}), 409, 20409)
    envs = "/v1/Services/ivr-flows/Environments"
    error_of(api.post(envs, {"UniqueName": "dev", "DomainSuffix": "dev2"}), 409, 20409)
    error_of(api.post(envs, {"UniqueName": "dev2", "DomainSuffix": "dev"}), 409, 20409)
    variable = seeded.store.variables(seeded.env().sid)[0]
    path = env_path(seeded.env(), "/Variables")
    error_of(api.post(path, {"Key": variable.key, "Value": "x"}), 409, 20409)


def test_build_parameters_are_checked(api: Api, seeded: Seeded) -> None:
    builds = f"/v1/Services/{seeded.service().sid}/Builds"
    other = seeded.service("sms-notifications")
    foreign = seeded.store.function_versions(seeded.store.functions(other.sid)[0].sid)[0]
    cases = [
        ({"Runtime": "node4"}, "Runtime"),
        ({"Dependencies": "not json"}, "Dependencies"),
        ({"Dependencies": '{"name": "twilio"}'}, "Dependencies"),
        ({"Dependencies": '[{"name": "twilio"}]'}, "version"),
        ({"FunctionVersions": ["ZNbad"]}, "FunctionVersions"),
        ({"FunctionVersions": [f"ZN{ZEROS}"]}, "does not exist"),
        ({"FunctionVersions": [foreign.sid]}, "does not exist"),
        ({"AssetVersions": [foreign.sid]}, "does not exist"),
    ]
    for data, words in cases:
        assert words in error_of(api.post(builds, data), 400, 20001)["message"], data


def test_a_live_build_cannot_be_deleted(api: Api, seeded: Seeded) -> None:
    dev = seeded.env()
    error_of(api.delete(f"/v1/Services/{dev.service_sid}/Builds/{dev.build_sid}"), 409, 20409)


def test_the_basic_auth_header_is_what_twilio_clients_send(emulator: Emulator) -> None:
    token = base64.b64encode(f"{emulator.account_sid}:{emulator.auth_token}".encode()).decode()
    response = requests.get(
        f"{emulator.base_url}/v1/Services", headers={"Authorization": f"Basic {token}"}, timeout=5
    )
    assert response.status_code == 200
    assert response.headers["Twilio-Request-Id"].startswith("RQ")
