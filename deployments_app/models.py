from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

service_sid_validator = RegexValidator(
    r"^ZS[0-9a-fA-F]{32}$", "A Service SID is ZS followed by 32 hex digits."
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
