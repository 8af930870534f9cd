"""solarmon settings, read from the environment (django-environ).

Every variable is a well-known name (DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, DEBUG,
ALLOWED_HOSTS, TIME_ZONE) or starts with SOLARMON_. A bad value fails loudly at start-up.
The embedded default needs nothing: SQLite and a filesystem Celery broker in the data
directory.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("SOLARMON_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
# The data directory holds password hashes, token digests and the secret key: only the
# account solarmon runs as may read it. Files this process creates get 0600 (the umask), and
# a directory or files left readable by an older version are tightened at start-up.
os.umask(0o077)
DATA_DIR.mkdir(parents=True, exist_ok=True)
if DATA_DIR.stat().st_uid == os.getuid():
    DATA_DIR.chmod(0o700)
    for _entry in DATA_DIR.iterdir():
        if _entry.is_file() and not _entry.is_symlink() and _entry.stat().st_mode & 0o077:
            _entry.chmod(0o600)

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
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_celery_beat",
    "catalog",
    "telemetry",
    "discovery",
    "aggregation",
    "integrations",
    "alerts",
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
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
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
# Each web thread keeps its database connection between requests: opening one (with SQLite's
# PRAGMAs, or PostgreSQL's TCP and auth round trips) costs as much as answering a request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("SOLARMON_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: the sample writes (telemetry.upsert) are prepared statements, planned once per
# connection; false behind a pooler in transaction mode that does not keep prepared statements
# (PgBouncer before 1.21, or without max_prepared_statements).
SOLARMON_PG_PREPARED_WRITES = env.bool("SOLARMON_PG_PREPARED_WRITES", default=True)
SOLARMON_SQLITE_TIMEOUT = env.int("SOLARMON_SQLITE_TIMEOUT", default=30)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the busy timeout makes a
    # writer wait for the lock instead of failing; IMMEDIATE transactions take the
    # write lock up front so two writers never deadlock on an upgrade. Incremental
    # auto-vacuum (effective on a database created with it; retention converts an older
    # one) lets pruning hand freed pages back to the file system.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": SOLARMON_SQLITE_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; "
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
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

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SOLARMON_MAX_REQUEST_BYTES", default=2 * 1024 * 1024)

# ---- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Tokens are stored as SHA-512 digests (django-rest-knox): the database never holds
        # a usable token. `manage.py create_token USER` prints a new one once.
        "solarmon.api.authentication.TokenAuthentication",
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
    # Alerts' severity appears as "severity" and "min_severity": one name for the enum.
    "ENUM_NAME_OVERRIDES": {"AlertSeverityEnum": "alerts.choices.Severity"},
    # Swagger UI from our own static files (drf-spectacular-sidecar): the docs work offline and
    # make no request off the box. (ReDoc is not offered: its bundle always loads a logo from
    # its vendor's CDN.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: Swagger UI would send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}
REST_KNOX = {
    "TOKEN_TTL": None,  # tokens for scripts and integrations last until deleted
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# ---- Celery -----------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control", "rejected"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # One folder serves as both queues' inbox and outbox: kombu's filesystem transport
    # delivers by moving files between them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # Message files that are not whole messages (a full disk) are moved here, not fatal.
        "rejected_folder": str(BROKER_DIR / "rejected"),
    }
    # kombu's filesystem transport with atomic writes and a consumer that skips bad files.
    CELERY_BROKER_TRANSPORT = "solarmon.broker:FilesystemTransport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# django-celery-beat's scheduler behind a lock, so exactly one beat runs (solarmon/beat.py).
CELERY_BEAT_SCHEDULER = "solarmon.beat:SingleBeatScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Threads, not processes: a worker keeps each serial port open once and shares it between polls
# (ports are opened exclusively, so two pool processes could not both hold one).
CELERY_WORKER_POOL = "threads"
# Celery closes a task's database connection before and after every task unless it may reuse
# it: at a hundred polls a second, opening PostgreSQL connections was most of a worker's CPU.
# Connections are kept as the web's are instead (SOLARMON_DB_CONN_MAX_AGE, health checks), by
# close_old_connections around each task (solarmon/celery.py); Celery itself closes one every
# this many tasks.
CELERY_DB_REUSE_MAX = 1000

# ---- solarmon -------------------------------------------------------------------
SOLARMON_CONFIG = Path(env.str("SOLARMON_CONFIG", default=str(DATA_DIR / "config.yaml")))
SOLARMON_PORT = env.int("SOLARMON_PORT", default=8000)
SOLARMON_DISCOVERY_REQUIRE_APPROVAL = env.bool("SOLARMON_DISCOVERY_REQUIRE_APPROVAL", default=False)
# Discovery (docs/discovery.md): which ports to scan and how hard to try.
SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS = env.bool("SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS", default=True)
SOLARMON_DISCOVERY_INCLUDE_GLOBS = env.list("SOLARMON_DISCOVERY_INCLUDE_GLOBS", default=[])
SOLARMON_DISCOVERY_EXCLUDE_GLOBS = env.list("SOLARMON_DISCOVERY_EXCLUDE_GLOBS", default=[])
SOLARMON_DISCOVERY_PROBE_ORDER = env.list("SOLARMON_DISCOVERY_PROBE_ORDER",
                                          default=["pytes", "powdrive", "senergy", "iammeter", "jkbms_tcpip"])
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
# Each system is polled at its own stable offset within the poll interval (from its id), so that
# many devices fall due a few at a time, not all at the interval's boundary (telemetry.polling).
SOLARMON_POLL_SPREAD = env.bool("SOLARMON_POLL_SPREAD", default=True)
# MQTT publishing (README "Home Assistant / MQTT"). Each, when set, overrides the stored MQTT
# settings; SOLARMON_MQTT_URL (mqtt[s]://[user:password@]host[:port]) also turns publishing on.
SOLARMON_MQTT_URL = env.str("SOLARMON_MQTT_URL", default="")
if SOLARMON_MQTT_URL:
    from urllib.parse import urlsplit

    _mqtt = urlsplit(SOLARMON_MQTT_URL)
    if _mqtt.scheme not in ("mqtt", "mqtts") or not _mqtt.hostname:
        raise ImproperlyConfigured("SOLARMON_MQTT_URL: use mqtt://[user:password@]host[:port] or mqtts://...")
SOLARMON_MQTT_BASE_TOPIC = env.str("SOLARMON_MQTT_BASE_TOPIC", default="")
SOLARMON_MQTT_DISCOVERY_PREFIX = env.str("SOLARMON_MQTT_DISCOVERY_PREFIX", default="")
# Messages waiting for the publisher thread; past this, new ones are dropped (and counted).
SOLARMON_MQTT_QUEUE_SIZE = env.int("SOLARMON_MQTT_QUEUE_SIZE", default=1000)
# How often the publisher re-reads device status (a stalled device turns unavailable) and the catalog.
SOLARMON_MQTT_CHECK_S = env.float("SOLARMON_MQTT_CHECK_S", default=5.0)
# Longest wait between two reconnection attempts (the wait doubles from 1 s up to this).
SOLARMON_MQTT_RECONNECT_MAX_S = env.float("SOLARMON_MQTT_RECONNECT_MAX_S", default=60.0)
SOLARMON_MQTT_KEEPALIVE_S = env.int("SOLARMON_MQTT_KEEPALIVE_S", default=30)

# Collectors (README "Scale"): every worker runs as one collector, the host that owns its serial
# ports and the TCP/BLE devices assigned to it, and consumes that collector's queue.
_HOST_NAME = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()).lstrip("-_.")[:64] or "solarmon"
SOLARMON_COLLECTOR = env.str("SOLARMON_COLLECTOR", default=_HOST_NAME)
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", SOLARMON_COLLECTOR):
    raise ImproperlyConfigured(f"SOLARMON_COLLECTOR={SOLARMON_COLLECTOR!r}: use up to 64 letters, digits, "
                               "'_', '-' or '.', starting with a letter or digit")
# A collector heartbeats this often; one silent for SOLARMON_COLLECTOR_DOWN_AFTER_S is down, and
# its devices are not polled (no other collector takes over its serial ports).
SOLARMON_COLLECTOR_HEARTBEAT_S = env.float("SOLARMON_COLLECTOR_HEARTBEAT_S", default=15.0)
SOLARMON_COLLECTOR_DOWN_AFTER_S = env.float("SOLARMON_COLLECTOR_DOWN_AFTER_S", default=60.0)
if not 0 < SOLARMON_COLLECTOR_HEARTBEAT_S < SOLARMON_COLLECTOR_DOWN_AFTER_S:
    raise ImproperlyConfigured("SOLARMON_COLLECTOR_HEARTBEAT_S must be above 0 and below "
                               "SOLARMON_COLLECTOR_DOWN_AFTER_S")
# A bus lock (one serial port, one RS485 gateway) held by a worker that dies frees itself after
# this long; a live holder renews it while it polls.
SOLARMON_BUS_LOCK_TTL_S = env.float("SOLARMON_BUS_LOCK_TTL_S", default=10.0)
if SOLARMON_BUS_LOCK_TTL_S < 1:
    raise ImproperlyConfigured("SOLARMON_BUS_LOCK_TTL_S must be at least 1 second")
# The disk guard (aggregation/diskguard.py): below the smaller of these two amounts of free
# space on the data disk, raw samples are pruned early, oldest first, keeping at least
# SOLARMON_DISK_GUARD_MIN_RAW_DAYS days of them. It checks every SOLARMON_DISK_GUARD_PERIOD_S.
SOLARMON_DISK_MIN_FREE_PCT = env.float("SOLARMON_DISK_MIN_FREE_PCT", default=10.0)
SOLARMON_DISK_MIN_FREE_MB = env.int("SOLARMON_DISK_MIN_FREE_MB", default=1024)
SOLARMON_DISK_GUARD_MIN_RAW_DAYS = env.int("SOLARMON_DISK_GUARD_MIN_RAW_DAYS", default=2)
SOLARMON_DISK_GUARD_PERIOD_S = env.float("SOLARMON_DISK_GUARD_PERIOD_S", default=60.0)
if not 0 <= SOLARMON_DISK_MIN_FREE_PCT <= 100:
    raise ImproperlyConfigured(f"SOLARMON_DISK_MIN_FREE_PCT must be 0-100, not {SOLARMON_DISK_MIN_FREE_PCT}")
if SOLARMON_DISK_MIN_FREE_MB < 0:
    raise ImproperlyConfigured(f"SOLARMON_DISK_MIN_FREE_MB must be >= 0, not {SOLARMON_DISK_MIN_FREE_MB}")
if SOLARMON_DISK_GUARD_MIN_RAW_DAYS < 1:
    raise ImproperlyConfigured("SOLARMON_DISK_GUARD_MIN_RAW_DAYS must be at least 1 (today's figures and "
                               f"the rollups read the last day), not {SOLARMON_DISK_GUARD_MIN_RAW_DAYS}")
if SOLARMON_DISK_GUARD_PERIOD_S < 1:
    raise ImproperlyConfigured(f"SOLARMON_DISK_GUARD_PERIOD_S must be >= 1 s, not "
                               f"{SOLARMON_DISK_GUARD_PERIOD_S}")

# ---- alerts (README "Alerts"): the default rules' limits and delays, evaluation, history ----
SOLARMON_ALERT_OFFLINE_AFTER_S = env.int("SOLARMON_ALERT_OFFLINE_AFTER_S", default=600)
SOLARMON_ALERT_RAISE_AFTER_S = env.int("SOLARMON_ALERT_RAISE_AFTER_S", default=60)
SOLARMON_ALERT_CLEAR_AFTER_S = env.int("SOLARMON_ALERT_CLEAR_AFTER_S", default=120)
SOLARMON_ALERT_CELL_SPREAD_MV = env.float("SOLARMON_ALERT_CELL_SPREAD_MV", default=50.0)
SOLARMON_ALERT_CELL_MIN_V = env.float("SOLARMON_ALERT_CELL_MIN_V", default=2.9)
SOLARMON_ALERT_CELL_MAX_V = env.float("SOLARMON_ALERT_CELL_MAX_V", default=3.6)
SOLARMON_ALERT_TEMP_MIN_C = env.float("SOLARMON_ALERT_TEMP_MIN_C", default=-20.0)
SOLARMON_ALERT_TEMP_MAX_C = env.float("SOLARMON_ALERT_TEMP_MAX_C", default=50.0)
SOLARMON_ALERT_CHARGE_TEMP_MIN_C = env.float("SOLARMON_ALERT_CHARGE_TEMP_MIN_C", default=0.0)
SOLARMON_ALERT_SOC_BELOW_PCT = env.float("SOLARMON_ALERT_SOC_BELOW_PCT", default=20.0)
SOLARMON_ALERT_GRID_LOST_BELOW_V = env.float("SOLARMON_ALERT_GRID_LOST_BELOW_V", default=100.0)
SOLARMON_ALERT_GLITCHES_PER_DAY = env.int("SOLARMON_ALERT_GLITCHES_PER_DAY", default=10)
# The disk-space alert warns before the disk guard prunes: its default lies 5 points above the
# guard's share of the disk (at most 100 %), and a value set at or below that share is refused.
SOLARMON_ALERT_DISK_FREE_BELOW_PCT = env.float("SOLARMON_ALERT_DISK_FREE_BELOW_PCT",
                                               default=min(SOLARMON_DISK_MIN_FREE_PCT + 5.0, 100.0))
if not 0 <= SOLARMON_ALERT_DISK_FREE_BELOW_PCT <= 100:
    raise ImproperlyConfigured(f"SOLARMON_ALERT_DISK_FREE_BELOW_PCT must be 0-100, not "
                               f"{SOLARMON_ALERT_DISK_FREE_BELOW_PCT:g}")
if ("SOLARMON_ALERT_DISK_FREE_BELOW_PCT" in os.environ and SOLARMON_DISK_MIN_FREE_MB > 0
        and 0 < SOLARMON_DISK_MIN_FREE_PCT >= SOLARMON_ALERT_DISK_FREE_BELOW_PCT):
    raise ImproperlyConfigured(
        f"SOLARMON_ALERT_DISK_FREE_BELOW_PCT={SOLARMON_ALERT_DISK_FREE_BELOW_PCT:g} must be above "
        f"SOLARMON_DISK_MIN_FREE_PCT={SOLARMON_DISK_MIN_FREE_PCT:g}, so the disk-space alert warns before "
        "the disk guard prunes raw samples early")
SOLARMON_ALERT_EVALUATE_PERIOD_S = env.float("SOLARMON_ALERT_EVALUATE_PERIOD_S", default=30.0)
SOLARMON_ALERT_HISTORY_DAYS = env.int("SOLARMON_ALERT_HISTORY_DAYS", default=365)
for _name in ("SOLARMON_ALERT_OFFLINE_AFTER_S", "SOLARMON_ALERT_EVALUATE_PERIOD_S",
              "SOLARMON_ALERT_HISTORY_DAYS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be above 0, not {globals()[_name]}")
# E-mail for notification channels: SOLARMON_EMAIL_URL, e.g. smtp+tls://user:password@host:587
# (django-environ's syntax). Without it, e-mail goes to localhost:25.
vars().update(env.email_url("SOLARMON_EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("SOLARMON_EMAIL_FROM", default="solarmon@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("SOLARMON_EMAIL_TIMEOUT_S", default=20)
# "Test connection" in the admin and the API: the longest it may take, waiting for the bus included.
SOLARMON_TEST_CONNECTION_TIMEOUT_S = env.float("SOLARMON_TEST_CONNECTION_TIMEOUT_S", default=20.0)

# ---- storage: retention, tiers and rollups (docs/energy.md "Storage") -------------------
# Raw samples are kept this many days, then only as 5-minute tiers and hourly/daily rollups.
SOLARMON_RAW_RETENTION_DAYS = env.int("SOLARMON_RAW_RETENTION_DAYS", default=14)
# 5-minute tiers per device (0 = forever) and per cell (0 = forever).
SOLARMON_TIER_RETENTION_DAYS = env.int("SOLARMON_TIER_RETENTION_DAYS", default=0)
SOLARMON_CELL_TIER_RETENTION_DAYS = env.int("SOLARMON_CELL_TIER_RETENTION_DAYS", default=365)
# Seconds between a pack's stored unit and cell rows (an adapter's cell_interval_s overrides).
SOLARMON_CELL_INTERVAL_S = env.int("SOLARMON_CELL_INTERVAL_S", default=60)
# Rollups: gaps longer than this many poll intervals are not bridged; plausible power of an
# inverter without a rated power and through a meter; how long after its end a 5-minute slot
# waits for late polls before the periodic rollup closes it.
SOLARMON_ROLLUP_GAP_INTERVALS = env.float("SOLARMON_ROLLUP_GAP_INTERVALS", default=3.0)
SOLARMON_ROLLUP_MAX_POWER_W = env.float("SOLARMON_ROLLUP_MAX_POWER_W", default=30000.0)
SOLARMON_ROLLUP_METER_MAX_POWER_W = env.float("SOLARMON_ROLLUP_METER_MAX_POWER_W", default=100000.0)
SOLARMON_ROLLUP_SETTLE_S = env.float("SOLARMON_ROLLUP_SETTLE_S", default=60.0)
# The periodic rollup closes whole local hours only: most of a run's cost is per run (statements,
# a commit, the cell tier's index, the touched hour's rows), so a day costs about 1.4 full
# recomputations instead of 2.1 (bench/README.md). Stored tiers and hourly rows lag up to an hour
# more; every reader of recent hours (today, the hourly API, the history's day chart, the series,
# MQTT) builds the open hour from raw samples on read (aggregation.selectors.open_span), so what
# they show is the same either way. False: every run closes its due slots.
SOLARMON_ROLLUP_WHOLE_HOURS = env.bool("SOLARMON_ROLLUP_WHOLE_HOURS", default=True)
# Days without tiers (rolled up before tiers existed) that one retention run rolls up again
# so that their raw samples may go.
SOLARMON_RETENTION_BACKFILL_DAYS = env.int("SOLARMON_RETENTION_BACKFILL_DAYS", default=7)
# Series reads: raw samples up to this range, 5-minute tiers up to the next, hourly rollups beyond.
SOLARMON_SERIES_RAW_MAX_HOURS = env.float("SOLARMON_SERIES_RAW_MAX_HOURS", default=6.0)
SOLARMON_SERIES_TIER_MAX_DAYS = env.float("SOLARMON_SERIES_TIER_MAX_DAYS", default=10.0)
for _name in ("SOLARMON_RAW_RETENTION_DAYS", "SOLARMON_CELL_INTERVAL_S", "SOLARMON_TIER_RETENTION_DAYS",
              "SOLARMON_CELL_TIER_RETENTION_DAYS", "SOLARMON_RETENTION_BACKFILL_DAYS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more, not {globals()[_name]}")
if SOLARMON_RAW_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("SOLARMON_RAW_RETENTION_DAYS must be at least 1")
for _name in ("SOLARMON_TIER_RETENTION_DAYS", "SOLARMON_CELL_TIER_RETENTION_DAYS"):
    if 0 < globals()[_name] < SOLARMON_RAW_RETENTION_DAYS:
        # Raw samples are pruned only where their tiers exist, so tiers must outlive them.
        raise ImproperlyConfigured(f"{_name} ({globals()[_name]}) must be 0 (forever) or at least "
                                   f"SOLARMON_RAW_RETENTION_DAYS ({SOLARMON_RAW_RETENTION_DAYS})")
for _name in ("SOLARMON_ROLLUP_GAP_INTERVALS", "SOLARMON_ROLLUP_MAX_POWER_W",
              "SOLARMON_ROLLUP_METER_MAX_POWER_W", "SOLARMON_SERIES_RAW_MAX_HOURS",
              "SOLARMON_SERIES_TIER_MAX_DAYS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be more than 0, not {globals()[_name]}")
if SOLARMON_ROLLUP_SETTLE_S < 0:
    raise ImproperlyConfigured(f"SOLARMON_ROLLUP_SETTLE_S must be 0 or more, not {SOLARMON_ROLLUP_SETTLE_S}")
# Bounds on reading a config file (import_yaml, first start): a hostile file fails fast.
SOLARMON_YAML_MAX_BYTES = env.int("SOLARMON_YAML_MAX_BYTES", default=256 * 1024)
SOLARMON_YAML_MAX_DEPTH = env.int("SOLARMON_YAML_MAX_DEPTH", default=32)
SOLARMON_YAML_MAX_NODES = env.int("SOLARMON_YAML_MAX_NODES", default=50_000)
SOLARMON_YAML_MAX_STRING_CHARS = env.int("SOLARMON_YAML_MAX_STRING_CHARS", default=4096)
# import_legacy: rows per transaction (each is short, so polling is not held up), how long to
# wait for a lock, and the SQLite page cache of the import's own connection.
SOLARMON_LEGACY_BATCH_ROWS = env.int("SOLARMON_LEGACY_BATCH_ROWS", default=50_000)
SOLARMON_LEGACY_BUSY_TIMEOUT_S = env.float("SOLARMON_LEGACY_BUSY_TIMEOUT_S", default=30.0)
SOLARMON_LEGACY_CACHE_MB = env.int("SOLARMON_LEGACY_CACHE_MB", default=64)
# SQLite: the longest the import holds the write lock over back-to-back batches before it lets
# other writers (polling) in; a writer waits at most about this plus a tenth of a second.
SOLARMON_LEGACY_MAX_HOLD_S = env.float("SOLARMON_LEGACY_MAX_HOLD_S", default=0.5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Logs go to stdout: the terminal under `make run`, the journal under systemd.
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "stream": "ext://sys.stdout"}},
    "root": {"handlers": ["console"], "level": env.str("SOLARMON_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # Apprise and urllib3 can quote notification URLs (tokens) in their messages: solarmon
                # captures Apprise's log and logs it scrubbed (integrations/notifications.py).
                "apprise": {"level": "WARNING", "handlers": [], "propagate": False},
                "urllib3": {"level": "WARNING"},
                # Failed logins and lockouts are warnings; successful logins are not logged.
                "axes": {"level": "WARNING"}},
}

# The spec's index names (idx_battery_pack_adapters_adapter_id, ...) are longer than the
# 30 characters Django allows for Oracle's sake. solarmon supports SQLite and PostgreSQL
# only, whose limits (none / 63) fit them, so the spec's names are kept.
SILENCED_SYSTEM_CHECKS = ["models.E034"]

# ---- web server, proxy and HTTPS (docs/deploy.md) ------------------------------------------
# gunicorn serves `make run` and the systemd unit. A Raspberry Pi 4 has 4 cores and 1-8 GB:
# two worker processes of four threads each keep memory near 150 MB and the database's
# single writer uncontended, while slow clients never block the rest. One process per core
# the web server may use (Python runs one thread of a process at a time); docs/deploy.md.
SOLARMON_BIND = env.str("SOLARMON_BIND", default="127.0.0.1")
SOLARMON_WEB_WORKERS = env.int("SOLARMON_WEB_WORKERS", default=2)
SOLARMON_WEB_THREADS = env.int("SOLARMON_WEB_THREADS", default=4)
# Behind a reverse proxy that terminates HTTPS (deploy/nginx.conf): trust its
# X-Forwarded-Proto, send cookies over HTTPS only, and ask browsers to stay on HTTPS (HSTS).
SOLARMON_BEHIND_PROXY = env.bool("SOLARMON_BEHIND_PROXY", default=False)
if SOLARMON_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = env.bool("SOLARMON_USE_X_FORWARDED_HOST", default=False)
    SECURE_SSL_REDIRECT = env.bool("SOLARMON_SSL_REDIRECT", default=True)
    # The health check stays reachable over plain HTTP for local monitoring.
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SOLARMON_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SOLARMON_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SOLARMON_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS for browsers everywhere: the domain
        # owner's decision (SOLARMON_HSTS_PRELOAD), not a default to warn about.
        SILENCED_SYSTEM_CHECKS = ["models.E034", "security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# ---- Content-Security-Policy on every response (django-csp) --------------------------------
# Scripts only from our own static files; no page loads anything from another host. Inline
# styles are allowed because the admin and Swagger UI set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# ---- logins: read-only owners, staff installers; lockout after repeated failures -----------
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out user+address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures are counted per user name and address together, so a neighbour guessing at one
# account neither locks out its owner elsewhere nor other accounts. `manage.py axes_reset`
# (or axes_reset_username / axes_reset_ip) unlocks.
AXES_FAILURE_LIMIT = env.int("SOLARMON_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("SOLARMON_LOGIN_LOCKOUT_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The log names the user and address of each lockout: the installer needs them to unlock.
AXES_SENSITIVE_PARAMETERS: list[str] = []
AXES_VERBOSE = False  # no start-up banner; failures and lockouts are still logged (WARNING)
# Behind the proxy the client's address is the one the proxy appended to X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "solarmon.security.client_ip"

# ---- health (/api/health/) ------------------------------------------------------------------
# A worker or beat whose heartbeat is older than this is reported failing.
SOLARMON_HEARTBEAT_MAX_AGE_S = env.float("SOLARMON_HEARTBEAT_MAX_AGE_S", default=120.0)
SOLARMON_HEALTH_MIN_FREE_MB = env.int("SOLARMON_HEALTH_MIN_FREE_MB", default=200)
