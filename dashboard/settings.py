"""Settings for the release dashboard, read from the environment.

Every variable has an embedded default that suits the local demo (SQLite,
local-memory cache); `.env.example` and the README list them all. Pointing the
dashboard at the real Twilio needs only environment variables.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if minimum is not None and not value >= minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, not {raw!r}.")
    return value


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {raw!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# --- Twilio Serverless upstream -------------------------------------------
TWILIO_SERVERLESS_BASE_URL = env_str(
    "TWILIO_SERVERLESS_BASE_URL", "https://serverless.twilio.com"
).rstrip("/")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_API_KEY = env_str("TWILIO_API_KEY")
TWILIO_API_SECRET = env_str("TWILIO_API_SECRET")
# Seconds; every upstream call has both. A read that times out is not retried.
TWILIO_CONNECT_TIMEOUT = env_float("TWILIO_CONNECT_TIMEOUT", 3.05, minimum=0.1)
TWILIO_READ_TIMEOUT = env_float("TWILIO_READ_TIMEOUT", 10.0, minimum=0.1)
# A page's reads, all together (services/upstream_budget.py): a slow Twilio makes a page
# give up with a clear message, not hold it for one read timeout per link of its chain.
DASHBOARD_PAGE_UPSTREAM_SECONDS = env_float(
    "DASHBOARD_PAGE_UPSTREAM_SECONDS", TWILIO_READ_TIMEOUT, minimum=0.1
)
# Twilio limits concurrent requests per account; its own CLI keeps 10 in flight.
TWILIO_MAX_CONCURRENCY = env_int("TWILIO_MAX_CONCURRENCY", 10, minimum=1)
# Reads (never the deployment POST) are retried on 429/502/503/504 and connection errors:
# at most this many attempts, within this many seconds after the first failure.
TWILIO_MAX_ATTEMPTS = env_int("TWILIO_MAX_ATTEMPTS", 4, minimum=1)
TWILIO_RETRY_BUDGET_SECONDS = env_float("TWILIO_RETRY_BUDGET_SECONDS", 8.0, minimum=0)
# A 429 asking to wait longer than this fails at once, and the page says when to retry.
TWILIO_RETRY_AFTER_CAP_SECONDS = env_float("TWILIO_RETRY_AFTER_CAP_SECONDS", 5.0, minimum=0)
# Items per page of a list read when the caller does not say (the spec allows 1..1000).
TWILIO_PAGE_SIZE_DEFAULT = env_int("TWILIO_PAGE_SIZE_DEFAULT", 50, minimum=1, maximum=1000)

# The local emulator (serverless_emulator) listens on loopback. Against it the
# dashboard runs in demo mode: demo credentials and demo users are allowed.
DEMO_MODE = urlsplit(TWILIO_SERVERLESS_BASE_URL).hostname in {"127.0.0.1", "localhost", "::1"}
# The emulator's fixed demo credentials, used only in demo mode when none are set.
DEMO_ACCOUNT_SID = "AC" + "dec0de" + "0" * 26  # serverless_emulator/emulator.py says the same
DEMO_AUTH_TOKEN = "emulator-demo-auth-token"

# --- Core -----------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Refuse to start half-configured against the real Twilio: a missing secret key
# or missing credentials would otherwise surface as odd failures at the first click.
_has_credentials = bool(
    TWILIO_ACCOUNT_SID and (TWILIO_AUTH_TOKEN or (TWILIO_API_KEY and TWILIO_API_SECRET))
)
if DEMO_MODE or DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-demo-only-never-use-against-real-twilio"
    if DEMO_MODE and not _has_credentials:
        TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT_SID or DEMO_ACCOUNT_SID
        TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN or DEMO_AUTH_TOKEN
else:
    _missing = []
    if not SECRET_KEY:
        _missing.append("DJANGO_SECRET_KEY")
    if not _has_credentials:
        _missing.append(
            "TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY + TWILIO_API_SECRET)"
        )
    if _missing:
        raise ImproperlyConfigured(
            f"Production settings are incomplete for {TWILIO_SERVERLESS_BASE_URL}: set "
            + " and ".join(_missing)
            + ". For a local demo against the emulator run `make run`."
        )

# --- Applications ---------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Whitenoise's runserver_nostatic must come before staticfiles so that
    # runserver serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "deployments_app",
    # Sign-in throttling; its admin lists the locked-out attempts, and deleting one unlocks.
    # After deployments_app: axes logs as it starts, and our log records (request id, user)
    # are set up in deployments_app's ready().
    "axes",
]

MIDDLEWARE = [
    # Outermost: the time it reports covers every other middleware too.
    "deployments_app.server_timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "deployments_app.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "deployments_app.session_idle.SessionIdleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says otherwise.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Before any view stores what it was sent (the sign-in throttling, the audit, messages).
    "deployments_app.input_guard.InputGuardMiddleware",
    "deployments_app.request_log.RequestLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: it turns the login view's answer into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "deployments_app.context_processors.product",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A persistent connection is checked before each request reuses it.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue (IMMEDIATE, with a busy timeout) instead of failing with "database is
    # locked" when several requests record actions at once. Tests use a file, not memory,
    # because SQLite's shared-memory mode has no busy timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # One file per test process, so concurrent runs never share a test database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Room for a 50-service account's pages (Django's default of 300 entries would cull
    # them: builds, histories and facts are several entries per environment).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
# Pages read Twilio through the cache (deployments_app/services/page_cache.py). What is
# live where is kept this many seconds (our own deployments forget it at once); what never
# changes (finished builds, a live build's history facts) this long.
DASHBOARD_LIVE_CACHE_SECONDS = env_int("DASHBOARD_LIVE_CACHE_SECONDS", 30, minimum=0)
DASHBOARD_IMMUTABLE_CACHE_SECONDS = env_int(
    "DASHBOARD_IMMUTABLE_CACHE_SECONDS", 7 * 24 * 3600, minimum=0
)
# The overview's first paint starts reading its rows' details at once, in the background.
DASHBOARD_OVERVIEW_READ_AHEAD = env_bool("DASHBOARD_OVERVIEW_READ_AHEAD", True)

# --- Authentication -------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not (DEBUG or DEMO_MODE))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Signed out after this many seconds without a request (each request renews it).
# (deployments_app/session_idle.py renews an active session every five minutes.)
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_IDLE_SECONDS", 8 * 3600, minimum=600)

# --- Sign-in throttling (django-axes) -----------------------------------------------------
# Axes' backend comes first: it refuses a locked-out sign-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# This many failed sign-ins lock out a username from that address, and the address itself
# (whatever usernames it tried), so guessing is stopped without letting anyone lock a
# colleague out everywhere: the same user from another address still signs in.
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# Minutes a lockout lasts; each further attempt during it starts the wait again. An
# administrator unlocks at once: the admin's Access attempts, or
# `manage.py axes_reset_username NAME` (or axes_reset_ip ADDRESS).
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# The sign-in page itself says how long to wait (a 429), not a bare text.
AXES_LOCKOUT_TEMPLATE = "registration/login.html"
# Which address a sign-in comes from: the socket's (REMOTE_ADDR), or behind a proxy the one
# header that proxy sets (e.g. HTTP_X_REAL_IP). Any other header is client-controlled.
CLIENT_IP_HEADER = env_str("DJANGO_CLIENT_IP_HEADER")
if CLIENT_IP_HEADER and not re.fullmatch(r"HTTP_[A-Z0-9_]+", CLIENT_IP_HEADER):
    raise ImproperlyConfigured(
        "DJANGO_CLIENT_IP_HEADER must name a request header as Django does, "
        f"e.g. HTTP_X_REAL_IP, not {CLIENT_IP_HEADER!r}."
    )
AXES_CLIENT_IP_CALLABLE = "deployments_app.services.sign_in_audit.sign_in_client_ip"
# The username as tried, cut to what a username can be (axes stores it in 255 characters).
AXES_USERNAME_CALLABLE = "deployments_app.services.sign_in_audit.sign_in_username"

# --- Content-Security-Policy (django-csp) ------------------------------------------
# Only the app's own scripts and styles (htmx is served from static/), no inline code,
# never framed. An injected <script> or style attribute does not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF],
        "img-src": [csp_constants.SELF, "data:"],
        "connect-src": [csp_constants.SELF],
        "font-src": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "object-src": [csp_constants.NONE],
    }
}

# --- HTTPS (production: on by default; off against the emulator and in DEBUG) ---------
_PRODUCTION = not (DEBUG or DEMO_MODE)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", _PRODUCTION)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if _PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", _PRODUCTION)
# Behind a proxy that terminates TLS: e.g. "HTTP_X_FORWARDED_PROTO=https".
_proxy_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    _name, _, _value = _proxy_header.partition("=")
    if not _name or not _value:
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO=https"
        )
    SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip())

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise) --------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic puts the hashed, compressed files whitenoise serves in production.
STATIC_ROOT: Path | None = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Serve straight from the finders when collectstatic has not run (demo, tests).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG or DEMO_MODE)
if WHITENOISE_USE_FINDERS:
    # Nothing is collected in this mode; an absent STATIC_ROOT would only draw a warning.
    STATIC_ROOT = None
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# --- Email (approval notifications) -------------------------------------------
# The console backend prints mails to the log; set EMAIL_HOST to send them by SMTP.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "release-dashboard@localhost")
# Where the dashboard is reached, for the links in notification mails.
DASHBOARD_URL = env_str("DASHBOARD_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Logging --------------------------------------------------------------
# Logs go to stdout: one JSON object per line in production (request id and user on each),
# readable lines in debug or demo mode. DJANGO_LOG_FORMAT chooses: json or text.
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text" if DEBUG or DEMO_MODE else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s"
        },
        "json": {"()": "deployments_app.request_log.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # Axes tells every sign-in at INFO; its failures and lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}
