from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


@login_not_required
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: with collected files the name is hashed, known once loaded.
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Browsers ask for it on pages that name no icon (the admin's).
    path("favicon.ico", favicon),
    path("", include("deployments_app.urls")),
]

# The database or Redis unreachable: a page that says so (503), not Django's bare 500.
handler500 = "deployments_app.views.errors.server_error"
