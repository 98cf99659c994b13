"""The team roles, kept as Django groups so the admin can manage membership."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser

# Whoever acts: a signed-in user of the project's user model, or nobody.
User = AbstractUser | AnonymousUser


def signed_in(user: User) -> AuthUser:
    """The user as a row to point at (a request's requester, an approval's approver)."""
    if not isinstance(user, get_user_model()):
        raise TypeError("a signed-in user is needed here")
    return user


VIEWER = "Viewer"
RELEASE_MANAGER = "Release manager"
APPROVER = "Approver"
ADMINISTRATOR = "Administrator"

# Order matters: a user in several groups is shown by the strongest one.
ROLE_GROUPS = (RELEASE_MANAGER, APPROVER, VIEWER)


def user_role(user: User) -> str:
    """The role to show in the header for this user."""
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return ADMINISTRATOR
    names = set(user.groups.values_list("name", flat=True))
    for role in ROLE_GROUPS:
        if role in names:
            return role
    return VIEWER


# What each role may do, as Django permissions ("app_label.codename").
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    VIEWER: (),
    RELEASE_MANAGER: ("deploy_build", "clear_environment"),
    APPROVER: ("approve_request",),
}
DEPLOY_PERMISSION = "deployments_app.deploy_build"
CLEAR_PERMISSION = "deployments_app.clear_environment"
APPROVE_PERMISSION = "deployments_app.approve_request"
# Given to no role by default: an administrator grants it to the on-call few.
BREAK_GLASS_PERMISSION = "deployments_app.break_glass"


def ensure_role_groups(**kwargs: object) -> None:
    """Create the role groups with their permissions (after every migrate and flush)."""
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label="deployments_app", codename__in=codenames
        )
        group.permissions.add(*permissions)
