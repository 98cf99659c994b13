from __future__ import annotations

import pytest
from django.contrib.auth.models import Group


@pytest.fixture
def manager_client(client, django_user_model):
    """A test client signed in as a release manager."""
    user = django_user_model.objects.create_user("rita", password="pw-rita-views")
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    client.force_login(user)
    return client
