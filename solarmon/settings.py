"""solarmon settings, read from the environment (django-environ).

Every variable is a well-known name (DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, DEBUG,
ALLOWED_HOSTS, TIME_ZONE) or starts with SOLARMON_. A bad value fails loudly at start-up.
The embedded default needs nothing: SQLite and a filesystem Celery broker in the data
directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("SOLARMON_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)

# SECRET_KEY comes from the environment. For development, `make run` (or
# `python -m solarmon.devkey`) writes a random key once to DATA_DIR/secret_key, which
# lives outside git. Without either, start-up stops: a guessable key is never used.
DEV_KEY_FILE = DATA_DIR / "secret_key"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and DEV_KEY_FILE.exists():
    SECRET_KEY = DEV_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY in the environment (or in .env), or run "
        f"`make run` once to generate a development key in {DEV_KEY_FILE}."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "catalog",
    "telemetry",
    "discovery",
    "aggregation",
    "integrations",
    "legacy",
    "solarmon",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "solarmon.urls"
WSGI_APPLICATION = "solarmon.wsgi.application"

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

# ---- database -------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'solarmon.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the busy timeout makes a
    # writer wait for the lock instead of failing; IMMEDIATE transactions take the
    # write lock up front so two writers never deadlock on an upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SOLARMON_SQLITE_TIMEOUT", default=30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON;",
        }
    )
    # Tests that run a real Celery worker in another process need the test database in a
    # file that process can open. The name carries the process id so that two test runs
    # never share (and delete) one file; pytest-django adds a suffix per xdist worker.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_solarmon_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Stored times are UTC. Hours and days are bucketed in each system's own timezone.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "solarmon" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the app folders without a collectstatic step, so a fresh
# `make run` works offline with DEBUG off.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SOLARMON_MAX_REQUEST_BYTES", default=2 * 1024 * 1024)

# ---- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["solarmon.permissions.StaffWriteAuthenticatedRead"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "solarmon.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "solarmon API",
    "DESCRIPTION": "Configuration, live state and energy history of a solar + storage installation.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# ---- Celery -----------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # One folder serves as both queues' inbox and outbox: kombu's filesystem transport
    # delivers by moving files between them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# ---- solarmon -------------------------------------------------------------------
SOLARMON_CONFIG = Path(env.str("SOLARMON_CONFIG", default=str(DATA_DIR / "config.yaml")))
SOLARMON_PORT = env.int("SOLARMON_PORT", default=8000)
SOLARMON_DISCOVERY_REQUIRE_APPROVAL = env.bool("SOLARMON_DISCOVERY_REQUIRE_APPROVAL", default=False)
# Discovery (docs/discovery.md): which ports to scan and how hard to try.
SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS = env.bool("SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS", default=True)
SOLARMON_DISCOVERY_INCLUDE_GLOBS = env.list("SOLARMON_DISCOVERY_INCLUDE_GLOBS", default=[])
SOLARMON_DISCOVERY_EXCLUDE_GLOBS = env.list("SOLARMON_DISCOVERY_EXCLUDE_GLOBS", default=[])
SOLARMON_DISCOVERY_PROBE_ORDER = env.list("SOLARMON_DISCOVERY_PROBE_ORDER",
                                          default=["pytes", "powdrive", "senergy", "iammeter"])
SOLARMON_DISCOVERY_PROBE_TIMEOUT_S = env.float("SOLARMON_DISCOVERY_PROBE_TIMEOUT_S", default=1.0)
SOLARMON_DISCOVERY_PORT_BUDGET_S = env.float("SOLARMON_DISCOVERY_PORT_BUDGET_S", default=12.0)
SOLARMON_DISCOVERY_MAX_FAILURES = env.int("SOLARMON_DISCOVERY_MAX_FAILURES", default=10)
SOLARMON_DISCOVERY_INTERVAL_S = env.float("SOLARMON_DISCOVERY_INTERVAL_S", default=300.0)
SOLARMON_DISCOVERY_ENABLED = env.bool("SOLARMON_DISCOVERY_ENABLED", default=True)
SOLARMON_DISCOVERY_SCAN_ON_STARTUP = env.bool("SOLARMON_DISCOVERY_SCAN_ON_STARTUP", default=True)
SOLARMON_DISCOVERY_RETRY_BASE_S = env.float("SOLARMON_DISCOVERY_RETRY_BASE_S", default=300.0)
SOLARMON_DISCOVERY_RETRY_MAX_S = env.float("SOLARMON_DISCOVERY_RETRY_MAX_S", default=6 * 3600.0)
SOLARMON_DISCOVERY_BACKOFF_MULTIPLIER = env.float("SOLARMON_DISCOVERY_BACKOFF_MULTIPLIER", default=2.0)
# Discovery settings are also stored in the database (imported from a config file); a variable
# set in the environment wins over the stored value.
SOLARMON_DISCOVERY_FROM_ENV = frozenset(name for name in os.environ if name.startswith("SOLARMON_DISCOVERY_"))
# How often beat looks for devices whose poll is due (each device has its own interval).
SOLARMON_DISPATCH_PERIOD_S = env.float("SOLARMON_DISPATCH_PERIOD_S", default=2.0)
SOLARMON_RAW_RETENTION_DAYS = env.int("SOLARMON_RAW_RETENTION_DAYS", default=90)
# Bounds on reading a config file (import_yaml, first start): a hostile file fails fast.
SOLARMON_YAML_MAX_BYTES = env.int("SOLARMON_YAML_MAX_BYTES", default=256 * 1024)
SOLARMON_YAML_MAX_DEPTH = env.int("SOLARMON_YAML_MAX_DEPTH", default=32)
SOLARMON_YAML_MAX_NODES = env.int("SOLARMON_YAML_MAX_NODES", default=50_000)
SOLARMON_YAML_MAX_STRING_CHARS = env.int("SOLARMON_YAML_MAX_STRING_CHARS", default=4096)
# import_legacy: rows per transaction (each is short, so polling is not held up), how long to
# wait for a lock, and the SQLite page cache of the import's own connection.
SOLARMON_LEGACY_BATCH_ROWS = env.int("SOLARMON_LEGACY_BATCH_ROWS", default=10_000)
SOLARMON_LEGACY_BUSY_TIMEOUT_S = env.float("SOLARMON_LEGACY_BUSY_TIMEOUT_S", default=30.0)
SOLARMON_LEGACY_CACHE_MB = env.int("SOLARMON_LEGACY_CACHE_MB", default=64)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("SOLARMON_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The spec's index names (idx_battery_pack_adapters_adapter_id, ...) are longer than the
# 30 characters Django allows for Oracle's sake. solarmon supports SQLite and PostgreSQL
# only, whose limits (none / 63) fit them, so the spec's names are kept.
SILENCED_SYSTEM_CHECKS = ["models.E034"]
