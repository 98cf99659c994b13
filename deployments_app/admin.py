from __future__ import annotations

from django.contrib import admin

from deployments_app.models import ServicePipeline


@admin.register(ServicePipeline)
class ServicePipelineAdmin(admin.ModelAdmin):
    list_display = ("service_sid", "label", "environment_order")
    search_fields = ("service_sid", "label")
