"""Every operation in the spec answers as the spec says: status, schema, exact fields."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded
from tests.spec import operations, schema_properties, spec, validate_request


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


def _ids(seeded: Seeded) -> dict[str, str]:
    """SIDs of one of everything in the demo seed (ivr-flows / dev)."""
    store = seeded.store
    service = seeded.service("ivr-flows")
    env = seeded.env("ivr-flows", "dev")
    function = store.functions(service.sid)[0]
    asset = store.assets(service.sid)[0]
    live = {e.build_sid for e in store.environments(service.sid)}
    spare = next(b for b in seeded.builds("ivr-flows", "completed") if b.sid not in live)
    return {
        "S": f"/v1/Services/{service.sid}",
        "E": f"/v1/Services/{service.sid}/Environments/{env.sid}",
        "env": env.sid,
        "spare_build": spare.sid,
        "function": function.sid,
        "function_version": store.function_versions(function.sid)[0].sid,
        "asset": asset.sid,
        "asset_version": store.asset_versions(asset.sid)[0].sid,
        "deployment": store.deployments(env.sid)[0].sid,
        "log": store.logs(env.sid)[0].sid,
        "variable": store.variables(env.sid)[0].sid,
    }


# One successful call per operationId, built from the seed's SIDs.
CALLS: dict[str, Callable[[dict[str, str]], Call]] = {
    "ListService": lambda i: Call("GET", "/v1/Services"),
    "CreateService": lambda i: Call(
        "POST", "/v1/Services", data={"UniqueName": "fax-relay", "FriendlyName": "Fax Relay"}
    ),
    "FetchService": lambda i: Call("GET", i["S"]),
    "UpdateService": lambda i: Call(
        "POST",
        i["S"],
        data={"FriendlyName": "IVR", "IncludeCredentials": "false", "UiEditable": "true"},
    ),
    "DeleteService": lambda i: Call("DELETE", i["S"]),
    "ListEnvironment": lambda i: Call("GET", f"{i['S']}/Environments"),
    "CreateEnvironment": lambda i: Call(
        "POST", f"{i['S']}/Environments", data={"UniqueName": "qa", "DomainSuffix": "qa"}
    ),
    "FetchEnvironment": lambda i: Call("GET", i["E"]),
    "DeleteEnvironment": lambda i: Call("DELETE", i["E"]),
    "ListDeployment": lambda i: Call("GET", f"{i['E']}/Deployments"),
    "CreateDeployment": lambda i: Call(
        "POST", f"{i['E']}/Deployments", data={"BuildSid": i["spare_build"], "IsPlugin": "false"}
    ),
    "FetchDeployment": lambda i: Call("GET", f"{i['E']}/Deployments/{i['deployment']}"),
    "ListBuild": lambda i: Call("GET", f"{i['S']}/Builds"),
    "CreateBuild": lambda i: Call(
        "POST",
        f"{i['S']}/Builds",
        data={
            "FunctionVersions": [i["function_version"]],
            "AssetVersions": [i["asset_version"]],
            "Dependencies": json.dumps([{"name": "twilio", "version": "5.3.0"}]),
            "Runtime": "node20",
        },
    ),
    "FetchBuild": lambda i: Call("GET", f"{i['S']}/Builds/{i['spare_build']}"),
    "DeleteBuild": lambda i: Call("DELETE", f"{i['S']}/Builds/{i['spare_build']}"),
    "FetchBuildStatus": lambda i: Call("GET", f"{i['S']}/Builds/{i['spare_build']}/Status"),
    "ListFunction": lambda i: Call("GET", f"{i['S']}/Functions"),
    "CreateFunction": lambda i: Call("POST", f"{i['S']}/Functions", data={"FriendlyName": "fax"}),
    "FetchFunction": lambda i: Call("GET", f"{i['S']}/Functions/{i['function']}"),
    "UpdateFunction": lambda i: Call(
        "POST", f"{i['S']}/Functions/{i['function']}", data={"FriendlyName": "renamed"}
    ),
    "DeleteFunction": lambda i: Call("DELETE", f"{i['S']}/Functions/{i['function']}"),
    "ListFunctionVersion": lambda i: Call("GET", f"{i['S']}/Functions/{i['function']}/Versions"),
    "FetchFunctionVersion": lambda i: Call(
        "GET", f"{i['S']}/Functions/{i['function']}/Versions/{i['function_version']}"
    ),
    "FetchFunctionVersionContent": lambda i: Call(
        "GET", f"{i['S']}/Functions/{i['function']}/Versions/{i['function_version']}/Content"
    ),
    "ListAsset": lambda i: Call("GET", f"{i['S']}/Assets"),
    "CreateAsset": lambda i: Call("POST", f"{i['S']}/Assets", data={"FriendlyName": "logo"}),
    "FetchAsset": lambda i: Call("GET", f"{i['S']}/Assets/{i['asset']}"),
    "UpdateAsset": lambda i: Call(
        "POST", f"{i['S']}/Assets/{i['asset']}", data={"FriendlyName": "renamed"}
    ),
    "DeleteAsset": lambda i: Call("DELETE", f"{i['S']}/Assets/{i['asset']}"),
    "ListAssetVersion": lambda i: Call("GET", f"{i['S']}/Assets/{i['asset']}/Versions"),
    "FetchAssetVersion": lambda i: Call(
        "GET", f"{i['S']}/Assets/{i['asset']}/Versions/{i['asset_version']}"
    ),
    "ListLog": lambda i: Call(
        "GET",
        f"{i['E']}/Logs",
        params={"StartDate": "2000-01-01T00:00:00Z", "FunctionSid": i["function"]},
    ),
    "FetchLog": lambda i: Call("GET", f"{i['E']}/Logs/{i['log']}"),
    "ListVariable": lambda i: Call("GET", f"{i['E']}/Variables"),
    "CreateVariable": lambda i: Call(
        "POST", f"{i['E']}/Variables", data={"Key": "NEW_KEY", "Value": "new value"}
    ),
    "FetchVariable": lambda i: Call("GET", f"{i['E']}/Variables/{i['variable']}"),
    "UpdateVariable": lambda i: Call(
        "POST", f"{i['E']}/Variables/{i['variable']}", data={"Value": "changed"}
    ),
    "DeleteVariable": lambda i: Call("DELETE", f"{i['E']}/Variables/{i['variable']}"),
}

OPERATIONS = {operation_id: (method, path) for method, path, operation_id in operations()}


def test_every_operation_in_the_spec_has_a_case() -> None:
    assert set(CALLS) == set(OPERATIONS)


def _success(method: str, template: str) -> tuple[int, dict[str, Any]]:
    """The documented success status and its schema (resolved one level)."""
    responses = spec()["paths"][template][method.lower()]["responses"]
    status = int(next(code for code in responses if code.startswith("2")))
    content = responses[str(status)].get("content", {})
    return status, content.get("application/json", {}).get("schema", {})


def _component(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


@pytest.mark.parametrize("operation_id", sorted(CALLS))
def test_operation_answers_exactly_as_the_spec_describes(
    operation_id: str, emulator: Emulator, api: Api, seeded: Seeded
) -> None:
    call = CALLS[operation_id](_ids(seeded))
    method, template = OPERATIONS[operation_id]
    assert call.method == method
    expected_status, schema = _success(method, template)

    response = api.request(call.method, call.path, params=call.params, data=call.data)

    assert response.status_code == expected_status, response.text
    validate_request(emulator.requests[-1])
    if expected_status == 204:
        assert response.content == b""
        return
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    # Exactly the schema's fields: no extras the SDK would ignore, none missing.
    if "$ref" in schema:
        assert set(body) == schema_properties(_component(schema["$ref"]))
        assert body["url"].startswith(emulator.base_url)
    else:
        list_key = next(k for k in schema["properties"] if k != "meta")
        item_schema = _component(schema["properties"][list_key]["items"]["$ref"])
        assert set(body) == {list_key, "meta"}
        assert set(body["meta"]) == set(schema["properties"]["meta"]["properties"])
        assert body["meta"]["key"] == list_key
        assert body[list_key], f"the demo seed should have {list_key} here"
        for item in body[list_key]:
            assert set(item) == schema_properties(item_schema)


def test_dates_are_whole_seconds_in_utc_with_a_z(api: Api, seeded: Seeded) -> None:
    body = api.get(f"/v1/Services/{seeded.service().sid}/Builds", PageSize=5).json()
    for build in body["builds"]:
        for field in ("date_created", "date_updated"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", build[field]), build[field]
        for version in build["function_versions"]:
            assert version["date_created"].endswith("Z")


def test_build_embeds_versions_and_dependencies_like_the_spec_example(
    api: Api, seeded: Seeded
) -> None:
    example = spec()["paths"]["/v1/Services/{ServiceSid}/Builds/{Sid}"]["get"]["responses"]["200"]
    example_body = example["content"]["application/json"]["examples"]["fetch"]["value"]
    build = seeded.builds("ivr-flows", "completed")[0]

    body = api.get(f"/v1/Services/{build.service_sid}/Builds/{build.sid}").json()

    for key in ("function_versions", "asset_versions", "dependencies"):
        assert body[key]
        assert set(body[key][0]) == set(example_body[key][0]), key
    assert {v["visibility"] for v in body["function_versions"]} <= {
        "PUBLIC",
        "PROTECTED",
        "PRIVATE",
    }
    assert body["runtime"] in spec()["components"]["schemas"]["build_enum_runtime"]["enum"]


def test_links_point_back_at_the_emulator(api: Api, seeded: Seeded) -> None:
    service = api.get(f"/v1/Services/{seeded.service().sid}").json()
    environments = api.get(service["links"]["environments"]).json()["environments"]
    deployments = api.get(environments[0]["links"]["deployments"]).json()
    assert deployments["deployments"]
    for link in (environments[0]["links"]["variables"], environments[0]["links"]["logs"]):
        assert api.get(link).status_code == 200
