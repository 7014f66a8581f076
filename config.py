"""Configuration classes; SQLite under instance/ by default, DATABASE_URL selects PostgreSQL."""

from __future__ import annotations

import os
from datetime import timedelta


def parse_waits(text: str, name: str = "OUTBOX_RETRY_SCHEDULE") -> tuple[int, ...]:
    """'30s 1m 2h' (or with commas): the waits in seconds, each one at least a second."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    waits = []
    for item in text.replace(",", " ").split():
        number, unit = item[:-1], item[-1:].lower()
        if unit not in units or not number.isdigit() or int(number) < 1:
            raise ValueError(f"{name}: {item!r} is not a wait such as 30s, 5m, 2h or 1d")
        waits.append(int(number) * units[unit])
    if not waits:
        raise ValueError(f"{name} names no wait")
    return tuple(waits)


def database_url_from_env(name: str = "DATABASE_URL") -> str | None:
    """Read a database URL and point plain PostgreSQL URLs at the psycopg 3 driver."""
    url = os.environ.get(name)
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment; each can be overridden by an env var."""

    REQUIRED_SECRETS: tuple[str, ...] = ()

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation).
    DATA_ENCRYPTION_KEY = os.environ.get("DATA_ENCRYPTION_KEY")
    # Key for the keyed blind index of ID numbers; when unset, derived from the LAST (oldest)
    # data key, so that rotating in a new key keeps the indexes. Set it to that oldest key
    # before removing it from DATA_ENCRYPTION_KEY.
    BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY")

    SQLALCHEMY_DATABASE_URI = database_url_from_env()  # None: SQLite under instance/
    # hide_parameters: a database error must not write names, phones or addresses to the log.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    SQLITE_BUSY_TIMEOUT_MS = 15000

    REDIS_URL = os.environ.get("REDIS_URL")
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (rate limits
    # and the audit log need the client's real address).
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Family self-registration, per client address: each attempt tells whether a phone or
    # an e-mail address is in use, so it is kept well below the sign-in limit.
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "10 per hour")
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # A sign-in without "stay signed in" ends on the server after this many hours even if it
    # is never signed out of (a copied session cookie dies with it); signing out ends it now.
    SIGN_IN_HOURS = int(os.environ.get("SIGN_IN_HOURS", "12"))
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, so a long field form survives
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}  # English is the source language

    BOOTSTRAP_SERVE_LOCAL = True

    API_TITLE = "Eldercare API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/swagger-ui/"  # served from the swagger-ui-bundle package

    # argon2id parameters (RFC 9106 second recommended option is 3 passes / 64 MiB)
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    ROSTER_IMPORT_MAX_ROWS = int(os.environ.get("ROSTER_IMPORT_MAX_ROWS", "200000"))
    # Day care: a center with no attendance recorded in this many days (up to today) is shown
    # as not operating on the county roll-up; the page can change it for one view.
    DAYCARE_IDLE_DAYS = int(os.environ.get("DAYCARE_IDLE_DAYS", "14"))
    # County overview: a computed overview is served for this long (the page says when it was
    # computed and can recompute it); the overview-refresh job keeps those opened in the last
    # OVERVIEW_KEEP_DAYS days, and every county's and city's current month, recomputed.
    OVERVIEW_MAX_AGE_SECONDS = int(os.environ.get("OVERVIEW_MAX_AGE_SECONDS", str(30 * 60)))
    OVERVIEW_REFRESH_SECONDS = int(os.environ.get("OVERVIEW_REFRESH_SECONDS", str(10 * 60)))
    OVERVIEW_KEEP_DAYS = int(os.environ.get("OVERVIEW_KEEP_DAYS", "3"))

    # Notifications: e-mail over SMTP, SMS through a gateway, the outbox dispatcher's retries.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"  # STARTTLS on a plain port
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"  # TLS from the start (465)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_FROM = os.environ.get("MAIL_FROM", "eldercare@localhost")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    # Links in e-mails and SMS are made absolute with this (e.g. https://ylfw.example.gov.cn).
    APP_BASE_URL = os.environ.get("APP_BASE_URL", "")
    SMS_ENABLED = os.environ.get("SMS_ENABLED", "1") == "1"
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")  # 'log' (development) or 'http'
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN")
    SMS_GATEWAY_TIMEOUT = float(os.environ.get("SMS_GATEWAY_TIMEOUT", "10"))
    # The waits after each failed attempt to send an e-mail or SMS; after the last one fails
    # the message is dead (an administrator requeues it). The default keeps trying for about
    # 27 hours, through a day-long outage of the mail server or the SMS gateway: 14 attempts.
    OUTBOX_RETRY_SCHEDULE = parse_waits(
        os.environ.get("OUTBOX_RETRY_SCHEDULE", "1m 2m 5m 10m 30m 1h 2h 3h 4h 4h 4h 4h 4h")
    )
    # A dispatcher's hold on a message it is sending: found still sending after this (the
    # dispatcher was killed during the send), the message is sent again, with the same id.
    # Longer than any send can take (each SMTP or gateway step times out after 10 s).
    OUTBOX_SEND_LEASE_SECONDS = int(os.environ.get("OUTBOX_SEND_LEASE_SECONDS", "300"))
    TIMEZONE = "Asia/Shanghai"

    # The scheduler process (`flask scheduler run`): local times of the daily jobs, in TIMEZONE.
    VISIT_DIGEST_TIME = os.environ.get("VISIT_DIGEST_TIME", "07:30")
    VISIT_OVERDUE_TIME = os.environ.get("VISIT_OVERDUE_TIME", "08:00")
    VISIT_ESCALATION_TIME = os.environ.get("VISIT_ESCALATION_TIME", "08:30")
    RATING_EXPIRY_TIME = os.environ.get("RATING_EXPIRY_TIME", "09:00")
    # Results whose public notice ended the day before are published at this time.
    RATING_PUBLISH_TIME = os.environ.get("RATING_PUBLISH_TIME", "00:30")
    # County staff hear of a facility's grade this many days before it runs out.
    RATING_EXPIRY_NOTICE_DAYS = int(os.environ.get("RATING_EXPIRY_NOTICE_DAYS", "90"))
    # Evidence files of rating scores (photos, PDFs): the largest accepted, and where they are
    # kept (None: evidence/ in the instance folder). MAX_CONTENT_LENGTH caps any request.
    RATING_EVIDENCE_MAX_BYTES = int(
        os.environ.get("RATING_EVIDENCE_MAX_BYTES", str(10 * 1024 * 1024))
    )
    RATING_EVIDENCE_DIR = os.environ.get("RATING_EVIDENCE_DIR") or None
    OUTBOX_DISPATCH_SECONDS = int(os.environ.get("OUTBOX_DISPATCH_SECONDS", "20"))
    # How often a standby copy tries to take the lead, and the leader checks it still has it.
    SCHEDULER_STANDBY_POLL_SECONDS = int(os.environ.get("SCHEDULER_STANDBY_POLL_SECONDS", "10"))
    # None: eldercare.scheduler.JOBS; or "module:attribute" naming another list (tests).
    SCHEDULER_JOBS = os.environ.get("SCHEDULER_JOBS") or None


#: The limits on one uploaded spreadsheet. Their defaults live with the code that applies them
#: (eldercare.core.upload_limits.TableLimits); a variable of the environment overrides one.
SPREADSHEET_SETTINGS = (
    "SPREADSHEET_MAX_COLUMNS",
    "SPREADSHEET_MAX_CELLS",
    "SPREADSHEET_MAX_UNPACKED_MB",
    "SPREADSHEET_MAX_STRINGS_MB",
    "SPREADSHEET_MAX_RATIO",
    "SPREADSHEET_READ_SECONDS",
)
for _name in SPREADSHEET_SETTINGS:
    if os.environ.get(_name):
        setattr(Config, _name, os.environ[_name])


class DevelopmentConfig(Config):
    """Local use and the demo: fixed, publicly known keys; never for real data."""

    DEBUG = False
    SECRET_KEY = Config.SECRET_KEY or "dev-only-secret-key-not-for-production"
    DATA_ENCRYPTION_KEY = (
        Config.DATA_ENCRYPTION_KEY or "ZGV2LW9ubHktZGF0YS1rZXktbm90LWZvci1wcm9kISE="
    )


class TestingConfig(DevelopmentConfig):
    """The test suite: cheap password hashing, CSRF checked only where a test asks."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = database_url_from_env("TEST_DATABASE_URL")
    WTF_CSRF_ENABLED = False
    # Limits stay on (memory storage, reset before each test) but the login limit is high;
    # the tests of rate limiting lower it for themselves.
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "1000 per minute"
    REGISTER_RATE_LIMIT = "1000 per minute"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    REDIS_URL = None
    SMS_BACKEND = "log"


class ProductionConfig(Config):
    """Real deployments: refuses to start without its secrets."""

    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"
    REQUIRED_SECRETS = ("SECRET_KEY", "DATA_ENCRYPTION_KEY")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
