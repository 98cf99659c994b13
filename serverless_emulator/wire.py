"""Records rendered as the JSON the spec's schemas describe, field for field.

`base` is the emulator's own origin (e.g. "http://127.0.0.1:8787"), so every
`url` and link leads back to the emulator.
"""

from __future__ import annotations

from typing import Any

from .dates import render as date
from .records import (
    Asset,
    AssetVersion,
    Build,
    Deployment,
    Environment,
    Function,
    FunctionVersion,
    Log,
    Resource,
    Service,
    Variable,
    VersionRef,
)

Json = dict[str, Any]


def service_url(base: str, service_sid: str) -> str:
    return f"{base}/v1/Services/{service_sid}"


def environment_url(base: str, service_sid: str, environment_sid: str) -> str:
    return f"{service_url(base, service_sid)}/Environments/{environment_sid}"


def service(record: Service, *, base: str, account_sid: str) -> Json:
    url = service_url(base, record.sid)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "friendly_name": record.friendly_name,
        "unique_name": record.unique_name,
        "include_credentials": record.include_credentials,
        "ui_editable": record.ui_editable,
        "domain_base": record.domain_base,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": url,
        "links": {
            "environments": f"{url}/Environments",
            "functions": f"{url}/Functions",
            "assets": f"{url}/Assets",
            "builds": f"{url}/Builds",
        },
    }


def environment(record: Environment, *, base: str, account_sid: str) -> Json:
    url = environment_url(base, record.service_sid, record.sid)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "build_sid": record.build_sid,
        "unique_name": record.unique_name,
        "domain_suffix": record.domain_suffix,
        "domain_name": record.domain_name,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": url,
        "links": {
            "variables": f"{url}/Variables",
            "deployments": f"{url}/Deployments",
            "logs": f"{url}/Logs",
        },
    }


def deployment(record: Deployment, *, base: str, account_sid: str) -> Json:
    env_url = environment_url(base, record.service_sid, record.environment_sid)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "environment_sid": record.environment_sid,
        "build_sid": record.build_sid,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": f"{env_url}/Deployments/{record.sid}",
    }


def _version_ref(ref: VersionRef, parent_field: str, *, service_sid: str, account_sid: str) -> Json:
    return {
        "sid": ref.sid,
        "account_sid": account_sid,
        "service_sid": service_sid,
        parent_field: ref.parent_sid,
        "date_created": date(ref.date_created),
        "path": ref.path,
        # Upper case as in the spec's Build examples ("PUBLIC"), although the
        # Version resources themselves use lower case ("public").
        "visibility": ref.visibility.upper(),
    }


def build(record: Build, *, base: str, account_sid: str) -> Json:
    url = f"{service_url(base, record.service_sid)}/Builds/{record.sid}"
    owner = {"service_sid": record.service_sid, "account_sid": account_sid}
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "asset_versions": [_version_ref(v, "asset_sid", **owner) for v in record.asset_versions],
        "function_versions": [
            _version_ref(v, "function_sid", **owner) for v in record.function_versions
        ],
        "dependencies": [{"name": d.name, "version": d.version} for d in record.dependencies],
        "runtime": record.runtime,
        "status": record.status,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": url,
        "links": {"build_status": f"{url}/Status"},
    }


def build_status(record: Build, *, base: str, account_sid: str) -> Json:
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "status": record.status,
        "url": f"{service_url(base, record.service_sid)}/Builds/{record.sid}/Status",
    }


def _resource(
    record: Resource, segment: str, versions_link: str, *, base: str, account_sid: str
) -> Json:
    url = f"{service_url(base, record.service_sid)}/{segment}/{record.sid}"
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "friendly_name": record.friendly_name,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": url,
        "links": {versions_link: f"{url}/Versions"},
    }


def _version_url(base: str, segment: str, record: FunctionVersion | AssetVersion) -> str:
    parent_url = f"{service_url(base, record.service_sid)}/{segment}/{record.parent_sid}"
    return f"{parent_url}/Versions/{record.sid}"


def _version(
    record: FunctionVersion | AssetVersion,
    segment: str,
    parent_field: str,
    *,
    base: str,
    account_sid: str,
) -> Json:
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        parent_field: record.parent_sid,
        "path": record.path,
        "visibility": record.visibility,
        "date_created": date(record.date_created),
        "url": _version_url(base, segment, record),
    }


def function(record: Function, *, base: str, account_sid: str) -> Json:
    return _resource(record, "Functions", "function_versions", base=base, account_sid=account_sid)


def function_version(record: FunctionVersion, *, base: str, account_sid: str) -> Json:
    body = _version(record, "Functions", "function_sid", base=base, account_sid=account_sid)
    body["links"] = {"function_version_content": f"{body['url']}/Content"}
    return body


def function_version_content(record: FunctionVersion, *, base: str, account_sid: str) -> Json:
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "function_sid": record.function_sid,
        "content": record.content,
        "url": f"{_version_url(base, 'Functions', record)}/Content",
    }


def asset(record: Asset, *, base: str, account_sid: str) -> Json:
    return _resource(record, "Assets", "asset_versions", base=base, account_sid=account_sid)


def asset_version(record: AssetVersion, *, base: str, account_sid: str) -> Json:
    return _version(record, "Assets", "asset_sid", base=base, account_sid=account_sid)


def log(record: Log, *, base: str, account_sid: str) -> Json:
    env_url = environment_url(base, record.service_sid, record.environment_sid)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "environment_sid": record.environment_sid,
        "build_sid": record.build_sid,
        "deployment_sid": record.deployment_sid,
        "function_sid": record.function_sid,
        "request_sid": record.request_sid,
        "level": record.level,
        "message": record.message,
        "date_created": date(record.date_created),
        "url": f"{env_url}/Logs/{record.sid}",
    }


def variable(record: Variable, *, base: str, account_sid: str) -> Json:
    env_url = environment_url(base, record.service_sid, record.environment_sid)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "service_sid": record.service_sid,
        "environment_sid": record.environment_sid,
        "key": record.key,
        "value": record.value,
        "date_created": date(record.date_created),
        "date_updated": date(record.date_updated),
        "url": f"{env_url}/Variables/{record.sid}",
    }
