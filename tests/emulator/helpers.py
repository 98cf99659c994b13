"""Helpers for the emulator's own tests: a checked HTTP client and seed lookups.

Every answer the `Api` client receives is validated against the spec (success)
or the Twilio error schema (4xx/5xx), so each test is also a fidelity test.
"""

from __future__ import annotations

from typing import Any

import requests
from twilio.rest import Client

from serverless_emulator import Emulator
from serverless_emulator.records import Build, Environment, Service
from tests.spec import validate_response


class Api:
    """requests.Session bound to one emulator, with Basic auth and spec checks."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.auth = (emulator.account_sid, emulator.auth_token)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.emulator.base_url}{path}"

    def request(
        self, method: str, path: str, *, check: bool = True, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        response = self.session.request(method, self.url(path), **kwargs)
        if check:
            validate_response(
                method, response.url, response.status_code, response.headers, response.content
            )
        return response

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, data: Any = None) -> requests.Response:
        return self.request("POST", path, data=data)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list, following next_page_url."""
        pages = [self.get(path, **params).json()]
        while pages[-1]["meta"]["next_page_url"]:
            pages.append(self.get(pages[-1]["meta"]["next_page_url"]).json())
        return pages

    def close(self) -> None:
        self.session.close()


class Seeded:
    """Named demo-seed objects, straight from the store."""

    def __init__(self, emulator: Emulator) -> None:
        self.store = emulator.store

    def service(self, unique_name: str = "ivr-flows") -> Service:
        return self.store.service(unique_name)

    def env(self, service: str = "ivr-flows", name: str = "dev") -> Environment:
        return self.store.environment_named(service, name)

    def builds(self, service: str = "ivr-flows", status: str | None = None) -> list[Build]:
        return [b for b in self.store.builds(service) if status is None or b.status == status]

    def deployable(self, env: Environment) -> Build:
        """A completed build of the environment's service that is not live there."""
        return next(b for b in self.builds(env.service_sid, "completed") if b.sid != env.build_sid)


def env_path(env: Environment, tail: str = "") -> str:
    return f"/v1/Services/{env.service_sid}/Environments/{env.sid}{tail}"


def sdk_client(
    emulator: Emulator, username: str | None = None, password: str | None = None
) -> Client:
    client = Client(
        username or emulator.account_sid,
        password or emulator.auth_token,
        account_sid=emulator.account_sid,
    )
    client.serverless.base_url = emulator.base_url
    return client
