"""Protected environments: their policies, freeze windows, and the requests approvers decide.

Plain models, fully described by their fields (policies are meant to be exported and
imported as code later). The rules that use them live in services/policies.py and
services/approvals.py.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name (e.g. Europe/Berlin, UTC).")


class EnvironmentPolicy(models.Model):
    """The rules of one environment, by service SID and environment unique name.

    Keyed by the environment's unique name, so the policy outlives the environment being
    deleted and created again.
    """

    service_sid = models.CharField("service SID", max_length=34)
    service_label = models.CharField(
        "service", max_length=200, blank=True, help_text="The service's name, for admins."
    )
    environment_name = models.CharField(
        "environment", max_length=100, help_text="The environment's unique name, e.g. production."
    )
    protected = models.BooleanField(
        default=True, help_text="Promotions, rollbacks and clears here need approval."
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    approver_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Who may approve. Empty: the Approver group.",
    )
    allow_self_approval = models.BooleanField(
        default=False, help_text="Whether the requester may approve their own request."
    )
    promote_from = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            "Promotion order: only builds that are or were live on this environment "
            "(unique name, e.g. stage) may be promoted here. Empty: any."
        ),
    )
    soak_minutes = models.PositiveIntegerField(
        "soak time (minutes)",
        default=0,
        validators=[MaxValueValidator(7 * 24 * 60)],
        help_text=(
            "Only promote builds that have been live on the source environment this long "
            "with no error-level logs there in that time. 0: no soak."
        ),
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    request_lifetime_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_sid", "environment_name"]
        verbose_name_plural = "environment policies"
        constraints = [
            models.UniqueConstraint(
                fields=["service_sid", "environment_name"], name="one_policy_per_environment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_label or self.service_sid} / {self.environment_name}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def approvals_label(self) -> str:
        return f"{self.required_approvals} approval{'s' if self.required_approvals > 1 else ''}"


class FreezeWindow(models.Model):
    """A time in which nothing deploys to the environment, approved requests included."""

    class Kind(models.TextChoices):
        ONCE = "once", "One-off (from … until)"
        WEEKLY = "weekly", "Every week"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    policy = models.ForeignKey(
        EnvironmentPolicy, on_delete=models.CASCADE, related_name="freeze_windows"
    )
    reason = models.CharField(max_length=200, help_text="Shown in every refusal.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WEEKLY)
    # One-off: aware datetimes.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Weekly: from a weekday and time to a weekday and time, in the policy's time zone.
    start_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "id"]

    def __str__(self) -> str:
        return self.reason

    def clean(self) -> None:
        if self.kind == self.Kind.ONCE:
            if not (self.starts_at and self.ends_at):
                raise ValidationError("A one-off window needs a start and an end.")
            if self.ends_at <= self.starts_at:
                raise ValidationError({"ends_at": "The end must be after the start."})
        else:
            weekly = (self.start_weekday, self.start_time, self.end_weekday, self.end_time)
            if any(part is None for part in weekly):
                raise ValidationError("A weekly window needs a start and an end day and time.")
            if (self.start_weekday, self.start_time) == (self.end_weekday, self.end_time):
                raise ValidationError("A weekly window cannot start and end at the same time.")

    @property
    def schedule(self) -> str:
        """When, in words: "Fri 17:00 → Mon 07:00 (Europe/Berlin)"."""
        zone = self.policy.time_zone
        if self.kind == self.Kind.ONCE:
            if not (self.starts_at and self.ends_at):
                return "—"
            local = ZoneInfo(zone)
            start, end = self.starts_at.astimezone(local), self.ends_at.astimezone(local)
            return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} ({zone})"
        if None in (self.start_weekday, self.start_time, self.end_weekday, self.end_time):
            return "—"
        days = self.Weekday.labels
        return (
            f"every {days[self.start_weekday]} {self.start_time:%H:%M} → "  # type: ignore[index]
            f"{days[self.end_weekday]} {self.end_time:%H:%M} ({zone})"  # type: ignore[index]
        )

    def active_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When this window ends, if `now` is inside it; None otherwise."""
        if self.kind == self.Kind.ONCE:
            if self.starts_at and self.ends_at and self.starts_at <= now < self.ends_at:
                return self.ends_at
            return None
        if None in (self.start_weekday, self.start_time, self.end_weekday, self.end_time):
            return None
        local = now.astimezone(zone)
        week = timedelta(days=7)
        # The most recent start at or before now, then its end after it.
        start = _weekly(local, self.start_weekday, self.start_time, zone)  # type: ignore[arg-type]
        if start > local:
            start -= week
        end = _weekly(start, self.end_weekday, self.end_time, zone)  # type: ignore[arg-type]
        if end <= start:
            end += week
        return end if start <= local < end else None


def _weekly(anchor: datetime, weekday: int, at: time, zone: ZoneInfo) -> datetime:
    """The datetime in `anchor`'s week (Monday first) on `weekday` at `at`, in `zone`."""
    day = anchor.date() + timedelta(days=weekday - anchor.weekday())
    return datetime.combine(day, at, tzinfo=zone)


class PromotionRequest(models.Model):
    """A change to a protected environment, waiting for approvers (or done by break-glass).

    The plan an approval is bound to: the action, the build, the target, what was live
    there and a fingerprint of its variables. If any changes before execution, the
    approvals are voided and the plan is taken again.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting approval"
        EXECUTING = "executing", "Deploying"
        EXECUTED = "executed", "Deployed"
        FAILED = "failed", "Deployment failed"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    DECIDED = (Status.EXECUTED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    via = models.CharField(max_length=20, default="web")
    action = models.CharField(max_length=20)  # an AuditEntry.Action
    reason = models.TextField()
    service_sid = models.CharField("service SID", max_length=34, db_index=True)
    service_name = models.CharField(max_length=200, blank=True)
    environment_sid = models.CharField("environment SID", max_length=34, db_index=True)
    environment_name = models.CharField(max_length=200)
    source_environment_sid = models.CharField(max_length=34, blank=True)
    source_environment_name = models.CharField(max_length=200, blank=True)
    build_sid = models.CharField("build SID", max_length=34, blank=True)
    # The plan, as it stood when the request was made (or last re-approved).
    live_build_sid = models.CharField("live build at request", max_length=34, blank=True)
    variables_fingerprint = models.CharField(max_length=64, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    # The plan's revision: raised each time a changed plan voids the approvals. An
    # approval counts only for the revision it was given for.
    revision = models.PositiveIntegerField(default=0)
    # Why the last approvals were voided, for the request page.
    voided_reason = models.TextField(blank=True)
    # What executing it did.
    executed_at = models.DateTimeField(null=True, blank=True)
    deployment_sid = models.CharField(max_length=34, blank=True)
    execution_error = models.TextField(blank=True)
    # Break-glass: executed at once; an approver ratifies it afterwards.
    break_glass = models.BooleanField(default=False)
    ratified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ratified_requests",
    )
    ratified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_request", "Can approve or reject promotion requests"),
            ("break_glass", "Can deploy to a protected environment at once (break-glass)"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.environment_name}"

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.OPEN and self.expires_at <= timezone.now()

    @property
    def shown_status(self) -> str:
        return self.Status.EXPIRED if self.is_expired else self.status

    @property
    def shown_status_label(self) -> str:
        return self.Status(self.shown_status).label

    @property
    def is_open(self) -> bool:
        """Still taking decisions: open and not expired."""
        return self.shown_status == self.Status.OPEN

    @property
    def is_failed(self) -> bool:
        return self.status == self.Status.FAILED

    @property
    def clears(self) -> bool:
        return self.action == "clear"

    @property
    def awaiting_ratification(self) -> bool:
        return self.break_glass and self.ratified_at is None


def standing_approvals() -> models.Count:
    """Annotation: distinct approvers whose approval of the request's current plan stands."""
    return models.Count(
        "approvals__approver",
        distinct=True,
        filter=models.Q(
            approvals__decision=Approval.Decision.APPROVE,
            approvals__voided_at__isnull=True,
            approvals__revision=models.F("revision"),
        ),
    )


class Approval(models.Model):
    """One approver's decision on a request; voided when the plan changes."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(
        PromotionRequest, on_delete=models.PROTECT, related_name="approvals"
    )
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    # The request's plan revision this decision was given for.
    revision = models.PositiveIntegerField(default=0)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One standing approval per person: a second one does not count twice.
            models.UniqueConstraint(
                fields=["request", "approver", "revision"],
                condition=models.Q(voided_at__isnull=True),
                name="one_standing_decision_per_approver",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.approver}"
