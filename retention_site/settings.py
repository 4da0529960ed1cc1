"""Settings for Retention Site, read from the environment.

With no environment the site runs on SQLite with Celery tasks executed in-process
(``CELERY_TASK_ALWAYS_EAGER``); with ``DATABASE_URL`` and ``REDIS_URL`` it runs on
PostgreSQL with Celery workers on Redis.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# A fixed development key is only acceptable while DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or ("insecure-development-key-only-for-local-use" if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" + (",testserver" if DEBUG else ""))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "simple_history",
    "accounts",
    "metrics",
    "web",
    "api",
    "reasons",
    "outlook",
    "closing",
    "operations",
]

MIDDLEWARE = [
    "retention_site.database.DatabaseTrouble",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "retention_site.middleware.RejectNulInQueryString",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "retention_site.middleware.ConsistentReads",
    "web.middleware.CatchUpOnEmbeddedDefault",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must be last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "retention_site.urls"

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
                "web.context_processors.vocab",
            ],
        },
    },
]

WSGI_APPLICATION = "retention_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A kept connection is checked before reuse: the first request after a database restart
        # reconnects instead of failing.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
else:  # SQLite: readers never block the background recompute's writes (WAL), writers wait a while
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "timeout": int(os.environ.get("SQLITE_TIMEOUT", "20"))}
    )
# How long a statement, and a wait for a lock, may last (milliseconds; retention_site/database.py):
# web requests give up soon and say the figures are being updated; workers and commands wait longer.
WEB_STATEMENT_TIMEOUT_MS = int(os.environ.get("WEB_STATEMENT_TIMEOUT_MS", "5000"))
WEB_LOCK_TIMEOUT_MS = int(os.environ.get("WEB_LOCK_TIMEOUT_MS", "3000"))
WORK_STATEMENT_TIMEOUT_MS = int(os.environ.get("WORK_STATEMENT_TIMEOUT_MS", str(15 * 60 * 1000)))
WORK_LOCK_TIMEOUT_MS = int(os.environ.get("WORK_LOCK_TIMEOUT_MS", str(10 * 60 * 1000)))
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock an email out for a while after repeated failed logins: from one address, or from all of
# them together (accounts/lockout.py). Emails count as login matches them, whatever the case.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_EMAIL_FAILURE_LIMIT = int(os.environ.get("AXES_EMAIL_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_USERNAME_CALLABLE = "accounts.lockout.normalised_email"
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The sign-in form posts the email as "username" (Django's AuthenticationForm); axes would look for
# "email" (USERNAME_FIELD), find nothing and count every failure against no user at all.
AXES_USERNAME_FORM_FIELD = "username"
# No "AXES: BEGIN ..." banner on every management command and server start.
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)
# The site's own page when a form's CSRF check fails (an expired page, cookies blocked).
CSRF_FAILURE_VIEW = "retention_site.errors.csrf_failure"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# First month (1-12) of the fiscal year; years in the retention figures start on it.
FISCAL_YEAR_START_MONTH = int(os.environ.get("FISCAL_YEAR_START_MONTH", "1"))
if not 1 <= FISCAL_YEAR_START_MONTH <= 12:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("FISCAL_YEAR_START_MONTH must be between 1 and 12.")

# A contract line is renewed by a line of the same product starting within this many days after it.
RENEWAL_GRACE_DAYS = int(os.environ.get("RENEWAL_GRACE_DAYS", "30"))
if RENEWAL_GRACE_DAYS < 1:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "RENEWAL_GRACE_DAYS must be at least 1 (a renewal line starts the day after the old one ends)."
    )

# The reporting currency (ISO 4217): every figure is in it; lines in other currencies convert at
# the exchange rates of fx_rates.csv (SPEC section 7).
REPORTING_CURRENCY = os.environ.get("REPORTING_CURRENCY", "USD").strip().upper()
from babel.numbers import list_currencies as _currencies  # noqa: E402

if REPORTING_CURRENCY not in _currencies():
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"REPORTING_CURRENCY {REPORTING_CURRENCY!r} is not an ISO 4217 currency code.")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: sessions and CSRF everywhere; strict transport settings when not debugging.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS=false (scripts/start.sh on this machine) keeps DEBUG off over plain http: no redirect to
# https, no HSTS, cookies sent over http.
if not DEBUG and env_bool("HTTPS", True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: eager (in-process) unless a broker is configured.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "retention")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task (acks late) after this many seconds: it must exceed the
# longest task, or a long recompute would be handed to a second worker while the first still runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200"))}
# A task that runs past these is stopped (soft: an exception it may clean up after; hard: its
# process is replaced) and retried: far above the longest shard (seconds), below the visibility
# timeout. They need the prefork pool (the default), as the README's worker command uses.
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_SOFT_TIME_LIMIT", "1200"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TIME_LIMIT", "1500"))
# Beat's sweep every minute carries out pending changes and, after midnight, the new day (the
# current periods only); a weekly full recompute rebuilds everything from scratch as a check.
# Each entry expires: when no worker takes it in time (workers down, the broker backed up), a
# stale copy is dropped instead of piling up and running late, one after another.
CELERY_BEAT_SCHEDULE = {
    "full-recompute": {
        "task": "metrics.tasks.recompute_all",
        "schedule": crontab(
            minute=os.environ.get("RECOMPUTE_MINUTE", "30"),
            hour=os.environ.get("RECOMPUTE_HOUR", "3"),
            day_of_week=os.environ.get("RECOMPUTE_DAY_OF_WEEK", "sun"),
        ),
        "options": {"expires": 6 * 3600},  # the next week's run will come
    },
    # Picks up committed changes whose trigger could not reach the broker at the time.
    "pending-recompute": {"task": "metrics.tasks.process_pending", "schedule": 60.0, "options": {"expires": 55}},
}

# Trend points whose cohort has fewer customers than this are drawn as low confidence and left
# out of the chart's axis range (a rate of two customers swings from 13% to 173%).
LOW_CONFIDENCE_LOGOS = int(os.environ.get("LOW_CONFIDENCE_LOGOS", "5"))

# The weekly digest (outlook): each owner and lead gets its week by email, unless it turned it off.
CELERY_BEAT_SCHEDULE["weekly-digest"] = {
    "task": "outlook.tasks.send_weekly_digests",
    "schedule": crontab(
        minute=os.environ.get("DIGEST_MINUTE", "0"),
        hour=os.environ.get("DIGEST_HOUR", "7"),
        day_of_week=os.environ.get("DIGEST_DAY_OF_WEEK", "mon"),
    ),
    "options": {"expires": 12 * 3600},  # a digest is for this week: not sent a day late
}

# Mail: EMAIL_URL configures Django's mail settings in one URL (dj-email-url), e.g.
# smtp://user:password@mail.example.com:587/?tls=True; without it mail goes to the console.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    import dj_email_url

    globals().update(dj_email_url.parse(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Retention Site <retention@localhost>")
# Where links in emails point.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# A full recompute is split into shards of this many customers, each a Celery task (run by any
# free worker process): shards bound each task's memory, and several worker processes (on one
# machine or many) compute them side by side.
RECOMPUTE_SHARD_CUSTOMERS = int(os.environ.get("RECOMPUTE_SHARD_CUSTOMERS", "25000"))
# Above this many changed customers, one full (sharded) run is cheaper than taking each out and in.
RECOMPUTE_INCREMENTAL_MAX_CUSTOMERS = int(os.environ.get("RECOMPUTE_INCREMENTAL_MAX_CUSTOMERS", "5000"))
# /healthz and the admins' notice call the recompute behind when a change has waited this long.
RECOMPUTE_LAG_ALERT_SECONDS = int(os.environ.get("RECOMPUTE_LAG_ALERT_SECONDS", "600"))
# A full run whose last step has not come after this long no longer holds other runs back.
RECOMPUTE_STALE_SECONDS = int(os.environ.get("RECOMPUTE_STALE_SECONDS", "1800"))

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Token first: its challenge header makes missing or bad credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.AnonThrottle", "api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_ANON_RATE", "30/minute"),
        "user": os.environ.get("API_USER_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Retention Site API",
    "DESCRIPTION": "NRR and GRR snapshots, account movements, churn cases and reasons.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # A self-hosted business app describes its API to signed-in users only (token or session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# A refused request (403, 404, ...) is one warning line, without a traceback (django.request);
# runserver's own line for it (django.server) would repeat it. Server errors keep theirs.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "refusal_without_traceback": {"()": "retention_site.errors.RefusalWithoutTraceback"},
        "refusal_logged_once": {"()": "retention_site.errors.RefusalLoggedOnce"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "request": {"class": "logging.StreamHandler", "filters": ["refusal_without_traceback"]},
        "server": {"class": "logging.StreamHandler", "filters": ["refusal_logged_once"]},
    },
    "loggers": {
        "django.request": {"handlers": ["request"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
