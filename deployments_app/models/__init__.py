from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from deployments_app.sids import SID_PATTERNS

service_sid_validator = RegexValidator(
    SID_PATTERNS["service"].pattern, "A Service SID is ZS followed by 32 hex digits."
)


class ServicePipeline(models.Model):
    """A service's environment order, when the dev → stage → production guess is wrong."""

    service_sid = models.CharField(
        "service SID", max_length=34, unique=True, validators=[service_sid_validator]
    )
    label = models.CharField(
        max_length=200, blank=True, help_text="A note for admins, e.g. the service's name."
    )
    environment_order = models.CharField(
        max_length=1000,
        help_text=(
            "Environment unique names, comma-separated, first stage to last "
            "(e.g. dev, qa, stage, production). Environments not listed follow, in the "
            "default order."
        ),
    )

    class Meta:
        ordering = ["service_sid"]

    def __str__(self) -> str:
        return self.label or self.service_sid

    @property
    def order(self) -> list[str]:
        return [name.strip() for name in self.environment_order.split(",") if name.strip()]

    def clean(self) -> None:
        names = self.order
        if not names:
            raise ValidationError({"environment_order": "List at least one environment."})
        if len(set(names)) != len(names):
            raise ValidationError({"environment_order": "An environment is listed twice."})


# How long a deployment action may be in flight: the environment lock's lifetime. A
# `pending` audit entry older than this lost its worker, so its outcome is unknown until
# the next read of its environment settles it.
ACTION_LIFETIME_SECONDS = 120


class AppendOnlyError(Exception):
    """Audit entries are never edited or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries cannot be deleted.")

    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Audit entries cannot be edited; use AuditEntry.complete().")

    def _complete(self, **kwargs: object) -> int:
        # The only update there is: a pending or unknown entry gets its final outcome.
        return super().update(**kwargs)


class AuditEntry(models.Model):
    """One attempted deployment action (or an observed outside change), append-only.

    Written as `pending` before the upstream call and completed after it, so a crash
    mid-call leaves a visible entry that the next read of the environment reconciles.
    """

    class Action(models.TextChoices):
        PROMOTE = "promote", "Promote"
        REDEPLOY = "redeploy", "Redeploy (roll back)"
        RESTORE = "restore", "Restore after clear"
        CLEAR = "clear", "Clear environment"
        EXTERNAL = "external", "Changed outside the dashboard"
        # The approval workflow's steps (the deployment itself is one of the above).
        REQUEST = "request", "Approval request"
        APPROVE = "approve", "Approval"
        REJECT = "reject", "Rejection"
        WITHDRAW = "withdraw", "Withdrawal"
        VOID = "void", "Approvals voided"
        EXPIRE = "expire", "Request expired"
        BREAK_GLASS = "break_glass", "Break-glass deployment"
        RATIFY = "ratify", "Break-glass ratified"
        # Not a deployment: django-axes locked out sign-ins (services/sign_in_audit.py).
        LOCKOUT = "lockout", "Sign-in locked out"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        NOOP = "noop", "Already live (no change)"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"
        UNKNOWN = "unknown", "Unknown"

    FINAL_OUTCOMES = (Outcome.SUCCEEDED, Outcome.NOOP, Outcome.FAILED, Outcome.REFUSED)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField("user", max_length=150, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField("client IP", null=True, blank=True)
    via = models.CharField(max_length=20, default="web", help_text="web, cli or system")
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    # Blank only on entries about no environment (a sign-in lockout).
    service_sid = models.CharField("service SID", max_length=34, blank=True, db_index=True)
    service_name = models.CharField(max_length=200, blank=True)
    service_unique_name = models.CharField(max_length=200, blank=True)
    environment_sid = models.CharField("environment SID", max_length=34, blank=True, db_index=True)
    environment_name = models.CharField(max_length=200, blank=True)
    source_environment_sid = models.CharField(max_length=34, blank=True)
    source_environment_name = models.CharField(max_length=200, blank=True)
    build_sid = models.CharField("build SID", max_length=34, blank=True)
    previous_build_sid = models.CharField("live build before", max_length=34, blank=True)
    deployment_sid = models.CharField("deployment SID", max_length=34, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    # What every viewer sees of a failure: Twilio's code, the kind of failure, and a
    # sentence for people. The technical text (paths, transport errors, the upstream's
    # address) is for administrators only.
    error_code = models.IntegerField(null=True, blank=True)
    error_kind = models.CharField(
        max_length=40, blank=True, help_text="The kind of failure, e.g. upstream_unavailable."
    )
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(
        blank=True, help_text="The technical detail, credential-free; shown to administrators."
    )
    reason = models.TextField(blank=True, help_text="Why, in the user's words.")
    request = models.ForeignKey(
        "deployments_app.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
        help_text="The approval request this step belongs to.",
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        permissions = [
            ("deploy_build", "Can promote and redeploy builds"),
            ("clear_environment", "Can clear environments"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.environment_name} by {self.actor or '?'}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be edited; use AuditEntry.complete().")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries cannot be deleted.")

    @property
    def shown_outcome(self) -> str:
        """The outcome to show: a pending entry whose worker must have died is unknown."""
        age = (timezone.now() - self.created_at).total_seconds()
        if self.outcome == self.Outcome.PENDING and age > ACTION_LIFETIME_SECONDS:
            return self.Outcome.UNKNOWN
        return self.outcome

    @property
    def shown_outcome_label(self) -> str:
        return self.Outcome(self.shown_outcome).label

    def complete(
        self,
        *,
        outcome: str,
        deployment_sid: str = "",
        error_code: int | None = None,
        error_kind: str = "",
        error_message: str = "",
        error_detail: str = "",
    ) -> bool:
        """Record the final outcome, once. False if another process completed it first."""
        changes = {
            "outcome": outcome,
            "completed_at": timezone.now(),
            "deployment_sid": deployment_sid or self.deployment_sid,
            "error_code": error_code,
            "error_kind": error_kind[:40],
            "error_message": error_message[:2000],
            "error_detail": error_detail[:4000],
        }
        done = AuditEntry.objects.filter(
            pk=self.pk, outcome__in=[self.Outcome.PENDING, self.Outcome.UNKNOWN]
        )._complete(**changes)
        if done:
            for field_name, value in changes.items():
                setattr(self, field_name, value)
        return bool(done)


class DeploymentRecord(models.Model):
    """Every deployment the dashboard has made or seen; survives a clear upstream."""

    deployment_sid = models.CharField("deployment SID", max_length=34, unique=True)
    service_sid = models.CharField("service SID", max_length=34)
    environment_sid = models.CharField("environment SID", max_length=34, db_index=True)
    build_sid = models.CharField("build SID", max_length=34, blank=True)
    date_created = models.DateTimeField(null=True, blank=True, db_index=True)
    deployed_by = models.CharField(max_length=150, blank=True)
    audit_entry = models.ForeignKey(
        AuditEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    cleared_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date_created", "-deployment_sid"]

    def __str__(self) -> str:
        return self.deployment_sid


class EnvironmentState(models.Model):
    """What the dashboard expects to be live in an environment, and why."""

    environment_sid = models.CharField("environment SID", max_length=34, unique=True)
    service_sid = models.CharField("service SID", max_length=34)
    # None with `known` set: we expect the environment to be empty.
    expected_build_sid = models.CharField(max_length=34, blank=True)
    known = models.BooleanField(default=False)
    last_action = models.ForeignKey(
        AuditEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_change = models.ForeignKey(
        AuditEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return self.environment_sid


class EnvironmentLock(models.Model):
    """A short-lived lock on an environment while a deployment action to it is in flight."""

    environment_sid = models.CharField(max_length=34, unique=True)
    token = models.CharField(max_length=64)
    holder = models.CharField(max_length=150, blank=True)
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.environment_sid} until {self.expires_at:%H:%M:%S}"


class PageEpoch(models.Model):
    """How many writes a scope of the pages' cache has seen (services/page_cache.py).

    In the database, not the cache, so that every process sees a write the moment it is
    committed, whatever the cache backend: the CLI's promotion and the web worker's
    local-memory cache included.
    """

    scope = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.scope}: {self.value}"


class BuildLabel(models.Model):
    """A name for a release: Twilio builds have none, so the dashboard keeps one.

    Keyed by the build SID alone (unique across Twilio), so CI can label a build with
    `manage.py label BUILD_SID TEXT` knowing nothing else.
    """

    build_sid = models.CharField("build SID", max_length=34, unique=True)
    label = models.CharField(
        max_length=80, help_text="What the team calls it, e.g. v1.8.2 · 3f2a91c."
    )
    note = models.CharField(
        max_length=300, blank=True, help_text='Optional, e.g. "retry SMS on 30007".'
    )
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["build_sid"]

    def __str__(self) -> str:
        return f"{self.label} ({self.build_sid})"


from deployments_app.models.approvals import (  # noqa: E402  (models of this app, registered here)
    Approval,
    EnvironmentPolicy,
    FreezeWindow,
    PromotionRequest,
)

__all__ = [
    "ACTION_LIFETIME_SECONDS",
    "AppendOnlyError",
    "Approval",
    "AuditEntry",
    "BuildLabel",
    "DeploymentRecord",
    "EnvironmentLock",
    "EnvironmentPolicy",
    "EnvironmentState",
    "FreezeWindow",
    "PageEpoch",
    "PromotionRequest",
    "ServicePipeline",
    "service_sid_validator",
]
