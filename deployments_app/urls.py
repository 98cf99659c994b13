from __future__ import annotations

from django.urls import path

from deployments_app import views

urlpatterns = [
    path("", views.overview, name="overview"),
]
