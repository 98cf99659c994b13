"""Create one demo user per role. Demo mode only (the dashboard points at the emulator)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from deployments_app import roles

# username, password, group (None: a superuser for the admin panel)
DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("viewer", "demo-viewer", roles.VIEWER),
    ("release", "demo-release", roles.RELEASE_MANAGER),
    ("approver", "demo-approver", roles.APPROVER),
    ("admin", "demo-admin", None),
)


class Command(BaseCommand):
    help = "Create (or reset) one demo user per role and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError(
                "Demo users are only created when TWILIO_SERVERLESS_BASE_URL points at the "
                "local emulator."
            )
        User = get_user_model()
        self.stdout.write("Demo users (demo mode only):")
        for username, password, group_name in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = group_name is None
            user.is_superuser = group_name is None
            # Notifications go to the console in the demo: one address each, to see them.
            user.email = f"{username}@example.com"
            user.save()
            if group_name:
                user.groups.set([Group.objects.get(name=group_name)])
            role = group_name or roles.ADMINISTRATOR
            self.stdout.write(f"  {role:<16} {username:<10} password: {password}")
