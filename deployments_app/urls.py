from __future__ import annotations

from django.urls import path, register_converter

from deployments_app import converters, views

register_converter(converters.ServiceSidConverter, "service_sid")
register_converter(converters.EnvironmentSidConverter, "environment_sid")
register_converter(converters.BuildSidConverter, "build_sid")

urlpatterns = [
    path("", views.overview, name="overview"),
    path(
        "services/<service_sid:service_sid>/environments/<environment_sid:environment_sid>/",
        views.environment_detail,
        name="environment",
    ),
    path(
        "services/<service_sid:service_sid>/builds/<build_sid:build_sid>/",
        views.build_detail,
        name="build",
    ),
]
