"""Fixtures for the deployment commands: users by role, and the demo seed by name."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group


@pytest.fixture
def rita(django_user_model):
    """A release manager."""
    user = django_user_model.objects.create_user("rita", password="pw-rita-commands")
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    return user


@pytest.fixture
def vera(django_user_model):
    """A viewer: may read, may not deploy."""
    user = django_user_model.objects.create_user("vera", password="pw-vera-commands")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    return user


class Seed:
    """Demo-seed objects by name, read fresh from the emulator's store each time."""

    def __init__(self, emulator) -> None:
        self.store = emulator.store

    def service(self, unique_name: str):
        return next(s for s in self.store.services() if s.unique_name == unique_name)

    def env(self, service_name: str, env_name: str):
        service = self.service(service_name)
        return next(e for e in self.store.environments(service.sid) if e.unique_name == env_name)

    def state(self) -> dict[str, tuple[str | None, int]]:
        """Every environment's live build and number of deployments."""
        return {
            env.sid: (env.build_sid, len(self.store.deployments(env.sid)))
            for service in self.store.services()
            for env in self.store.environments(service.sid)
        }


@pytest.fixture
def seed(upstream) -> Seed:
    return Seed(upstream)
