"""Settings for Token Price Tracker, read from the environment (see the table in README.md).

With nothing set, the app runs on embedded defaults: an SQLite file and a filesystem Celery
broker, both under VAR_DIR, so that a new user needs no server.
"""

import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from tracker.env import env_bool, env_int, env_list, env_str

# Lets ModelAdmin[...] and QuerySet[...] be subscripted at runtime, for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or a random key generated once and kept in VAR_DIR."""
    configured = env_str("DJANGO_SECRET_KEY", "")
    if configured:
        return configured
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "tracker",
    "tracker.alerts",
    "dashboard",
    "dashboard.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tracker.middleware.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

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


def _database() -> dict[str, object]:
    url = env_str("DATABASE_URL", "")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "tracker.sqlite3",
            # The web server and the worker write concurrently: WAL lets readers go on while
            # one writes, IMMEDIATE takes the write lock up front instead of failing mid-way.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    try:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    engine = str(config.get("ENGINE", ""))
    if engine not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(f"DATABASE_URL must be postgres:// or sqlite://, got {engine}")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up until collectstatic fills it
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

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The cache holds rendered figures and the rate limiters' counters, so it must be shared by
# every process: Redis when CACHE_URL names one, else files under VAR_DIR (no server needed).
CACHE_URL = env_str("CACHE_URL", "")
CACHES: dict[str, dict[str, object]]
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# Celery. With no CELERY_BROKER_URL, kombu's filesystem transport under VAR_DIR: it needs no
# server, so `make run` works on a bare machine. Production sets a Redis URL.
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Without it kombu keeps its exchange table in ./control, wherever it was started.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # acks_late tasks are redelivered after this long if a worker vanished with them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
TICK_SECONDS = env_int("TRACKER_TICK_SECONDS", 60, minimum=1)

# Scraping.
TRACKER_HTTP_TIMEOUT = env_int("TRACKER_HTTP_TIMEOUT", 15, minimum=1)
TRACKER_HTTP_CONNECT_TIMEOUT = env_int("TRACKER_HTTP_CONNECT_TIMEOUT", 5, minimum=1)
TRACKER_USER_AGENT = env_str(
    "TRACKER_USER_AGENT",
    "TokenPriceTracker/0.1 (+https://github.com/token-price-tracker/token-price-tracker)",
)
TRACKER_MAX_PAYLOAD_BYTES = env_int("TRACKER_MAX_PAYLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
# A published price moving by this factor or more either way is held until a second run.
TRACKER_SUSPICIOUS_FACTOR = env_int("TRACKER_SUSPICIOUS_FACTOR", 10, minimum=2)

# Email: Django's own variable names. With no EMAIL_HOST, mail goes to the console (make run).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587 if env_bool("EMAIL_USE_TLS", False) else 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Token Price Tracker <tracker@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[Token Price Tracker] "


def _admins(raw: str) -> list[tuple[str, str]]:
    """'Ann <ann@example.org>, bob@example.org' -> [('Ann', 'ann@...'), ('bob@...', 'bob@...')]."""
    from email.utils import getaddresses

    admins = [(name or addr, addr) for name, addr in getaddresses([raw]) if addr]
    if any("@" not in addr for _, addr in admins):
        raise ImproperlyConfigured(f"DJANGO_ADMINS must be email addresses, got {raw!r}")
    return admins


ADMINS = _admins(env_str("DJANGO_ADMINS", ""))
# Operators are emailed once when a source has failed this many runs in a row, once on recovery.
TRACKER_FAILURE_ALERT_AFTER = env_int("TRACKER_FAILURE_ALERT_AFTER", 6, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# The site's public origin, for absolute links in emails (RFC 8058 wants https in production)
# and the URLs written into releases and their citations.
BASE_URL = env_str("TRACKER_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- downloads (dashboard/exports.py) ---
# A large CSV download on PostgreSQL is read in this many parts at once, each on a connection
# of its own sharing one snapshot; 1 reads it in one COPY. Smaller reads stay in one part.
EXPORT_COPY_PARTS = env_int("TRACKER_EXPORT_COPY_PARTS", 2, minimum=1)
EXPORT_SPLIT_ROWS = env_int("TRACKER_EXPORT_SPLIT_ROWS", 100_000, minimum=0)

# --- alerts (tracker/alerts) ---
ALERTS_BASE_URL = BASE_URL
ALERTS_CONFIRM_DAYS = env_int("ALERTS_CONFIRM_DAYS", 7, minimum=1)
ALERTS_MANAGE_DAYS = env_int("ALERTS_MANAGE_DAYS", 30, minimum=1)
# Subscribe / manage-link forms: at most this many posts per hour per client IP / per address.
ALERTS_RATE_PER_IP = env_int("ALERTS_RATE_PER_IP", 20, minimum=1)
ALERTS_RATE_PER_ADDRESS = env_int("ALERTS_RATE_PER_ADDRESS", 5, minimum=1)
# Failed deliveries retry after base, 4x base, 16x base, ... (capped at 6 h) for this long.
ALERTS_RETRY_BASE_SECONDS = env_int("ALERTS_RETRY_BASE_SECONDS", 60, minimum=1)
ALERTS_RETRY_FOR_SECONDS = env_int("ALERTS_RETRY_FOR_SECONDS", 86400, minimum=1)
# A claimed notification whose worker has not finished after this long is re-queued.
ALERTS_CLAIM_TIMEOUT_SECONDS = env_int("ALERTS_CLAIM_TIMEOUT_SECONDS", 300, minimum=1)
ALERTS_SWEEP_SECONDS = env_int("ALERTS_SWEEP_SECONDS", 60, minimum=1)
ALERTS_DIGEST_HOUR = env_int("ALERTS_DIGEST_HOUR", 7, minimum=0)
ALERTS_WEBHOOK_TIMEOUT = env_int("ALERTS_WEBHOOK_TIMEOUT", 10, minimum=1)
if ALERTS_DIGEST_HOUR > 23:
    raise ImproperlyConfigured(f"ALERTS_DIGEST_HOUR must be 0 to 23, got {ALERTS_DIGEST_HOUR}")


def _alerts_webhook_targets() -> tuple[list[int], list[str]]:
    """Webhooks go only to globally routable addresses on these ports. A self-hoster posting
    to their own LAN lists its networks (CIDR) in ALERTS_WEBHOOK_ALLOW_NETWORKS."""
    import ipaddress

    try:
        ports = [int(p) for p in env_list("ALERTS_WEBHOOK_PORTS", "80,443")]
    except ValueError:
        raise ImproperlyConfigured("ALERTS_WEBHOOK_PORTS must be port numbers: 80,443") from None
    networks = env_list("ALERTS_WEBHOOK_ALLOW_NETWORKS", "")
    for net in networks:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"ALERTS_WEBHOOK_ALLOW_NETWORKS: {net!r} no CIDR") from None
    return ports, networks


ALERTS_WEBHOOK_PORTS, ALERTS_WEBHOOK_ALLOW_NETWORKS = _alerts_webhook_targets()

# --- downloads, releases and the HTTP API (dashboard/) ---
# Dated releases of the whole dataset (dashboard/releases.py), one directory each, never pruned.
RELEASES_DIR = Path(env_str("TRACKER_RELEASES_DIR", str(VAR_DIR / "releases"))).resolve()
# What releases cite and license: the public address of the site, the data's licence (SPDX id)
# and the authors named in CITATION.cff. They are written into the release files.
RELEASES_BASE_URL = BASE_URL
RELEASES_LICENSE = env_str("TRACKER_DATA_LICENSE", "CC-BY-4.0")
RELEASES_AUTHOR = env_str("TRACKER_DATA_AUTHOR", "Token Price Tracker contributors")
# The daily release is built at this hour (UTC).
RELEASES_HOUR = env_int("TRACKER_RELEASE_HOUR", 3, minimum=0)
if RELEASES_HOUR > 23:
    raise ImproperlyConfigured(f"TRACKER_RELEASE_HOUR must be 0 to 23, got {RELEASES_HOUR}")
# API requests per minute: anonymous clients per IP (FRED allows 120), and per API key (a key
# may carry its own limit, set in the admin).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
API_KEY_RATE_LIMIT_PER_MINUTE = env_int("API_KEY_RATE_LIMIT_PER_MINUTE", 1200, minimum=1)
# Behind a reverse proxy, the request header carrying the client's address, as Django's META
# key (HTTP_X_REAL_IP for X-Real-IP); empty: REMOTE_ADDR. Only set it if the proxy overwrites it.
API_CLIENT_IP_HEADER = env_str("API_CLIENT_IP_HEADER", "")
