"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from serverless_emulator import Emulator
from tests.emulator.helpers import Api, Seeded


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.close()


@pytest.fixture
def empty_api(empty_emulator: Emulator) -> Iterator[Api]:
    client = Api(empty_emulator)
    yield client
    client.close()


@pytest.fixture
def seeded(emulator: Emulator) -> Seeded:
    return Seeded(emulator)
