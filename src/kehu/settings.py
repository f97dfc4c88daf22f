"""Django settings for kehu, driven entirely by environment variables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("KEHU_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_secret(name: str) -> str:
    """Read a secret from the environment, or keep a generated one under var/ for local use."""
    value = os.environ.get(name)
    if value:
        return value
    path = VAR_DIR / f".{name.lower()}"
    if path.exists():
        return path.read_text().strip()
    import secrets

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(50)
    path.write_text(value)
    path.chmod(0o600)
    return value


DEBUG = env_bool("KEHU_DEBUG", False)
SECRET_KEY = env_secret("KEHU_SECRET_KEY")
ALLOWED_HOSTS = env_list("KEHU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("KEHU_CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("KEHU_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "kehu.accounts",
    "kehu.privacy",
    "kehu.commerce",
    "kehu.customers",
    "kehu.web",
    "kehu.api",
    "kehu.demo",
    "kehu.imports",
    "kehu.ops",
    "kehu.scoring",
    "kehu.identity",
    "kehu.exports",
    "kehu.quality",
    "kehu.sales",
    "kehu.customfields",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kehu.web.middleware.SessionIdleTimeoutMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kehu.web.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kehu.web.context_processors.navigation",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
# SQLite in WAL mode under var/ is the embedded default; PostgreSQL via DATABASE_URL in production.
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'kehu.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_SQLITE)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("KEHU_DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY; "
            # A write-ahead log grown by an import (kehu.imports.bulksql.wal_checkpoints_deferred)
            # is cut back to 64 MB when it is next reset, instead of keeping its largest size.
            "PRAGMA journal_size_limit=67108864;"
        ),
    }
    # Tests use a file, not memory, so that a second connection (Ibis in-database scoring) sees the
    # test data; one per process, so that concurrent test runs never share it.
    _db.setdefault("TEST", {})["NAME"] = os.environ.get("KEHU_TEST_SQLITE_NAME") or str(
        Path(tempfile.gettempdir()) / f"kehu-test-{os.getpid()}.sqlite3"
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = _db["ENGINE"].endswith("postgresql")

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout: django-axes counts failures per username + IP and locks for a cool-off period.
AXES_FAILURE_LIMIT = env_int("KEHU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("KEHU_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env_bool("KEHU_AXES_ENABLED", True)

SESSION_COOKIE_AGE = env_int("KEHU_SESSION_IDLE_SECONDS", 8 * 3600)
# The age above is an idle timeout: SessionIdleTimeoutMiddleware pushes it forward, re-saving a session at
# most once per KEHU_SESSION_REFRESH_SECONDS instead of on every request.
KEHU_SESSION_REFRESH_SECONDS = env_int("KEHU_SESSION_REFRESH_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
SECURE = env_bool("KEHU_SECURE", False)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("KEHU_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KEHU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
CURRENCY = "CNY"
DEFAULT_PHONE_REGION = os.environ.get("KEHU_PHONE_REGION", "CN")

# --- Static -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("KEHU_MANIFEST_STATIC", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("KEHU_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# Files uploaded on the import pages; kept privately under var/imports/uploads, never served.
IMPORT_MAX_UPLOAD_BYTES = env_int("KEHU_MAX_IMPORT_BYTES", 200 * 1024 * 1024)
IMPORT_UPLOAD_TTL_HOURS = env_int("KEHU_IMPORT_UPLOAD_TTL_HOURS", 7 * 24)
# PostgreSQL: check an import's foreign keys once per distinct key instead of by row triggers,
# when the role may set session_replication_role (ADR 0201).
IMPORT_SET_BASED_KEY_CHECKS = env_bool("KEHU_IMPORT_SET_BASED_KEY_CHECKS", True)

# --- Background tasks ---------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("KEHU_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEHU_LOG_LEVEL", "WARNING")},
    "loggers": {"kehu": {"level": os.environ.get("KEHU_LOG_LEVEL", "INFO")}},
}

NINJA_PAGINATION_PER_PAGE = 50
