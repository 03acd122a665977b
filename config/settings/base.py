"""Settings shared by every environment; each value comes from the environment (SPEC §10)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from csp.constants import NONCE, NONE, SELF

# Lets admin and generic classes be subscripted at run time, as their type hints are.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Patient portal links (SPEC §7): how long one works, and how often a patient may ask for a fresh one.
PORTAL_LINK_DAYS = env.int("PORTAL_LINK_DAYS", default=30)
PORTAL_LINK_REQUESTS_PER_HOUR = env.int("PORTAL_LINK_REQUESTS_PER_HOUR", default=5)

INSTALLED_APPS = [
    # Django's admin with our site: the second factor for whoever has one, managers always (security/).
    "security.admin_config.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Country names in the page's language (the application form's country list).
    "django_countries",
    "offices",
    "workflow",
    "notifications",
    "portal",
    # The staff's pages at /staff/ (SPEC §8), with htmx served from our static files.
    "django_htmx",
    "staff",
    # Login lockout (django-axes) and the protections of docs/security.md.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before Django's CSRF check: the patient pages' no-referrer forms post `Origin: null` (portal/csrf.py).
    "portal.csrf.NoReferrerOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "security.middleware.EndDisabledSessionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "security.middleware.SecondFactorEnrolmentMiddleware",
    "security.middleware.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a locked-out admin login into its "locked" answer.
    "axes.middleware.AxesMiddleware",
]

# axes first: it refuses a locked username or address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Every page: our own origin only, no external source (SPEC §11). Inline code runs only with the
# request's nonce: the API docs' start-up script (templates/drf_spectacular/swagger_ui.html).
# `data:` images are the icons inside the API docs' stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "config.urls"
# Staff sign in on the staff pages and land on their queue (the admin keeps its own login page).
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:queue"
LOGOUT_REDIRECT_URL = "staff:login"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (docs/performance.md): a new PostgreSQL connection costs a few milliseconds
# and a backend process, more than a queue page's queries. Kept a minute by default, checked before
# reuse so that a restarted server or a dropped connection costs one retry, not an error. Set 0
# behind pgbouncer in transaction mode, which pools for us.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Local SQLite is shared by web, worker and beat: wait for locks, take write locks up front
    # (no deadlock upgrading a read lock) and let readers run beside the writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Uploaded medical records and consent scans (PDF, JPEG, PNG, checked by content).
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# All the files of one application together (SPEC §11: anonymous intake must not store 100 MB a request).
MAX_INTAKE_UPLOAD_BYTES = env.int("MAX_INTAKE_UPLOAD_BYTES", default=20 * 1024 * 1024)
# A hard ceiling against abuse; the intake itself allows 10 files with a field error beyond.
DATA_UPLOAD_MAX_NUMBER_FILES = 50
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Email: EMAIL_URL picks the backend (smtp://, consolemail://, …); console locally.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="clinic@localhost")
# First retry delay of a transiently failed email; each further one doubles, capped at 10 minutes.
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=30)
# Rows one delivery task claims and sends over one SMTP connection (notifications.delivery).
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=50)
# Due rows each sweep claims and handles per transaction (SLA, reminders, aftercare).
SWEEP_BATCH_SIZE = env.int("SWEEP_BATCH_SIZE", default=200)

# Celery (SPEC §11): JSON only, late acks, one message at a time, explicit limits.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_RESULT_EXPIRES = 24 * 60 * 60
# Redis redelivers an unacknowledged message after this; task retries stay well below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# The shared cache: throttle counters and login failures, seen alike by every web process (SPEC §11).
CACHES = {
    "default": {
        "BACKEND": "security.cache.PrefixedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="clinic"),
    }
}

# Login lockout (django-axes), the admin's login and the API's token login counted together
# (docs/security.md): a username, and separately a client address, is locked after this many failures.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
# The address the throttles count (NUM_PROXIES), never a bare X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "security.client.client_address"
AXES_HTTP_RESPONSE_CODE = 429
AXES_COOLOFF_MESSAGE = (
    "Too many failed logins: this account or address is locked for a while. A manager can unlock it sooner."
)
AXES_SENSITIVE_PARAMETERS = ["password", "otp", "otp_token"]
# A page, not a bare line of text, on the staff sign-in and the admin's (the API answers its own JSON).
AXES_LOCKOUT_CALLABLE = "security.lockout.lockout_response"

# The name the staff's authenticator apps show for our codes (docs/security.md).
OTP_TOTP_ISSUER = "Clinic workflow"

# API tokens (docs/security.md): dead after this long unused, or this long after the login.
TOKEN_IDLE_HOURS = env.int("TOKEN_IDLE_HOURS", default=12)
TOKEN_MAX_AGE_DAYS = env.int("TOKEN_MAX_AGE_DAYS", default=7)

# Idempotency-Key on acting POSTs (docs/security.md): how long a key's answer is replayed, and how long a
# request waits for one still in flight with the same key before a 409 `in_progress`.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.int("IDEMPOTENCY_WAIT_SECONDS", default=10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "security.tokens.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "intake": env("INTAKE_THROTTLE_RATE", default="20/hour"),
        # Per patient email address, whatever the client address (docs/security.md, "Anonymous intake").
        "intake_email": env("INTAKE_EMAIL_THROTTLE_RATE", default="5/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # How many trusted proxies stand in front of the app. 0: the client address is REMOTE_ADDR and
    # X-Forwarded-For is ignored, so a caller cannot pick the address its throttles count (SPEC §11).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic application workflow API",
    "DESCRIPTION": "Applications, conversation and reply promise of the Delhi and Europe offices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The interactive docs' assets are served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send the schema to an outside validator.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "TransitionNameEnum": "workflow.services.transitions.TRANSITION_NAMES",
        # The access log's `outcome` and `channel`, beside the monitoring check's and the message's.
        "OutcomeEnum": "workflow.models.MonitoringCheck.Outcome",
        "AccessLogOutcomeEnum": "security.models.AccessLogEntry.Outcome",
        "AccessLogChannelEnum": "security.models.AccessLogEntry.Channel",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The 400, 404 and 415 that DRF answers on any operation of a kind (config/schema.py).
        "config.schema.document_framework_errors",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
