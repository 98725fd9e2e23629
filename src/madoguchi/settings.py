"""Settings, read from the environment (one ``.env`` file) with embedded defaults.

A missing service URL selects the embedded implementation: no ``DATABASE_URL`` means
SQLite in ``MADOGUCHI_DATA_DIR``, no ``REDIS_URL`` means the in-memory channel layer and
local-memory cache, no ``EMAIL_HOST`` means mail is written to the data directory's spool.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from madoguchi.calls.turn import TURN_SCHEMES, InvalidIceUrl, validate_urls
from madoguchi.core.files import open_private, private_dir
from madoguchi.dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent


load_dotenv()


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


DATA_DIR = Path(env("MADOGUCHI_DATA_DIR", str(Path.cwd() / "madoguchi-data"))).resolve()
private_dir(DATA_DIR)  # 0700: the database, uploads and mail are personal data
UPLOAD_DIR = DATA_DIR / "uploads"
MAIL_SPOOL_DIR = DATA_DIR / "mail-spool"


def _secret_key() -> str:
    configured = env("SECRET_KEY") or env("MADOGUCHI_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        with open_private(key_file, "wb") as out:
            out.write(secrets.token_urlsafe(50).encode("ascii"))
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("MADOGUCHI_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# The public base URL used in mails (links to the requester's thread, consent pages).
SITE_URL = env("MADOGUCHI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_tasks",
    "madoguchi.core.apps.TasksConfig",  # django_tasks_db, with a translated name
    "ninja",  # its Swagger UI assets from our static files, not a CDN (/api/v1/docs)
    "madoguchi.core",
    "madoguchi.accounts",
    "madoguchi.privacy",
    "madoguchi.sla",
    "madoguchi.inquiries",
    "madoguchi.mail",
    "madoguchi.intake",
    "madoguchi.kb",
    "madoguchi.chat",
    "madoguchi.calls",
    "madoguchi.cases",
    "madoguchi.console",
    "madoguchi.retention",
    "madoguchi.sso",
    "madoguchi.staffauth",
    "madoguchi.stats",
    "madoguchi.web",
]

MIDDLEWARE = [
    "madoguchi.core.streaming.AsyncStreamingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "madoguchi.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "madoguchi.staffauth.lifetime.SessionLifetimeMiddleware",  # idle and absolute lifetimes
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "madoguchi.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "madoguchi.urls"
ASGI_APPLICATION = "madoguchi.asgi.application"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "madoguchi.web.context.desk",
                "madoguchi.sso.context.sso",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request thread would keep its own persistent connection and
        # exhaust the server's slots; a small pool per process is shared instead.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("MADOGUCHI_DB_POOL_SIZE", 8),
            "timeout": 20,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "madoguchi.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "madoguchi.core.sqlite"):
    DATABASES["default"]["ENGINE"] = "madoguchi.core.sqlite"  # see core/sqlite/base.py
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE transactions avoid "database is locked" upgrades between the web
            # threads and the in-process worker; WAL lets readers run beside one writer.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    )
    # Tests use a file too (not SQLite's shared in-memory database), so concurrency
    # behaves as deployed: WAL, IMMEDIATE transactions, busy timeout.
    DATABASES["default"].setdefault("TEST", {"NAME": str(DATA_DIR / "test.sqlite3")})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED = not DATABASE_URL

# --- cache, channel layer ------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("MADOGUCHI_REDIS_PREFIX", "madoguchi"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env("MADOGUCHI_REDIS_PREFIX", "madoguchi")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- tasks ------------------------------------------------------------------------------
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "mail", "sla"]}
}
# In the embedded mode `madoguchi serve` runs the worker in a thread of the web process.
EMBEDDED_WORKER = env_bool("MADOGUCHI_EMBEDDED_WORKER", EMBEDDED)
# A failing worker loop is restarted after 1 s, 2 s, 4 s, … up to this many seconds.
WORKER_MAX_BACKOFF_SECONDS = env_int("MADOGUCHI_WORKER_MAX_BACKOFF_SECONDS", 60)
# /healthz: unhealthy when no worker has written its heartbeat for this long, or when an
# outgoing mail has been pending for longer than the second figure.
HEALTH_WORKER_STALE_SECONDS = env_int("MADOGUCHI_HEALTH_WORKER_STALE_SECONDS", 120)
HEALTH_OUTBOX_MAX_AGE_SECONDS = env_int("MADOGUCHI_HEALTH_OUTBOX_MAX_AGE_SECONDS", 900)
# The housekeeping loop (every MADOGUCHI_HOUSEKEEPING_SECONDS, 60 by default, beside every
# worker) runs these in order; each is called without arguments and a failing one is
# logged without stopping the others. Dotted paths, so core.worker imports none of the apps.
HOUSEKEEPING = [
    "madoguchi.mail.outbox.sweep",
    "madoguchi.inbound.ingest.recover_pending",
    "madoguchi.inquiries.sla_monitor.check_due_times",
    "madoguchi.inbound.imap.fetch_all",
    "madoguchi.chat.actions.do_sweep",
    "madoguchi.calls.actions.do_sweep",
    "madoguchi.kb.learning.purge_old",
    "madoguchi.retention.policy.scheduled",
]

# --- auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
# Sign-in throttling (web.throttle): failed attempts per account and per client address
# within the window; beyond them every attempt is refused until the window ends.
LOGIN_MAX_FAILURES = env_int("MADOGUCHI_LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("MADOGUCHI_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCKOUT_MINUTES = env_int("MADOGUCHI_LOGIN_LOCKOUT_MINUTES", 15)
LOGIN_REDIRECT_URL = "console:inbox"
# Requesters who sign in (accounts.requester): by a one-time code mailed to their address
# (valid REQUESTER_CODE_MINUTES, REQUESTER_CODE_ATTEMPTS tries) or an identity provider;
# the sign-in lasts REQUESTER_SESSION_HOURS.
REQUESTER_SESSION_HOURS = env_int("MADOGUCHI_REQUESTER_SESSION_HOURS", 12)
REQUESTER_CODE_MINUTES = env_int("MADOGUCHI_REQUESTER_CODE_MINUTES", 10)
REQUESTER_CODE_ATTEMPTS = env_int("MADOGUCHI_REQUESTER_CODE_ATTEMPTS", 5)
# Codes asked for, per client address and per mail address ("N/seconds").
REQUESTER_CODE_RATE = env("MADOGUCHI_REQUESTER_CODE_RATE", "5/3600")
LOGOUT_REDIRECT_URL = "portal"
# OpenID Connect sign-in (sso, docs/sso.md): on when the discovery URL and client id are
# set. A public client (no secret) uses PKCE alone; PKCE (S256) is sent either way.
OIDC_DISCOVERY_URL = env("MADOGUCHI_OIDC_DISCOVERY_URL").strip()
OIDC_CLIENT_ID = env("MADOGUCHI_OIDC_CLIENT_ID").strip()
OIDC_CLIENT_SECRET = env("MADOGUCHI_OIDC_CLIENT_SECRET")
OIDC_NAME = env("MADOGUCHI_OIDC_NAME").strip()  # the button's label; empty: a generic one
OIDC_SCOPES = env("MADOGUCHI_OIDC_SCOPES", "openid profile email").split()
# Entra ID tenants (`tid`) allowed when the discovery URL is a multi-tenant one
# (organizations/common, whose issuer reads {tenantid}); empty: the issuer only.
OIDC_TENANTS = tuple(
    t.strip().lower() for t in env("MADOGUCHI_OIDC_TENANTS").replace(",", " ").split()
)
# Claims, each a list of names tried in order (the first present counts).
OIDC_EMAIL_CLAIMS = env("MADOGUCHI_OIDC_EMAIL_CLAIMS", "email,preferred_username,upn").split(",")
OIDC_NAME_CLAIMS = env("MADOGUCHI_OIDC_NAME_CLAIMS", "name,preferred_username").split(",")
OIDC_GROUP_CLAIMS = env("MADOGUCHI_OIDC_GROUP_CLAIMS", "groups,roles").split(",")
# The claim(s) holding the university's ID number (the forms' "common ID"), if any, e.g.
# "employeeId" or "student_number": the forms come pre-filled with it.
OIDC_COMMON_ID_CLAIMS = env("MADOGUCHI_OIDC_COMMON_ID_CLAIMS").split(",")
OIDC_CATEGORY_CLAIMS = env(
    "MADOGUCHI_OIDC_CATEGORY_CLAIMS", "eduperson_affiliation,affiliation,roles,groups"
).split(",")
# claim value=member category (inquiries.models.MemberCategory), comma-separated; replaces
# the default (student, faculty, staff, employee, member, affiliate).
OIDC_CATEGORY_MAP = env("MADOGUCHI_OIDC_CATEGORY_MAP")
# group or app-role value=staff tier (student or faculty), comma-separated. Empty: the
# identity provider never sets a tier (administrators do, in the admin).
OIDC_STAFF_GROUPS = env("MADOGUCHI_OIDC_STAFF_GROUPS")
# Leeway for exp/iat/nbf of the ID token, seconds (at most 300).
OIDC_CLOCK_SKEW_SECONDS = min(300, max(0, env_int("MADOGUCHI_OIDC_CLOCK_SKEW_SECONDS", 120)))
OIDC_HTTP_TIMEOUT_SECONDS = env_int("MADOGUCHI_OIDC_HTTP_TIMEOUT_SECONDS", 10)
if OIDC_DISCOVERY_URL and not OIDC_CLIENT_ID:
    raise ImproperlyConfigured(
        "MADOGUCHI_OIDC_DISCOVERY_URL is set but MADOGUCHI_OIDC_CLIENT_ID is not"
    )
# SAML 2.0 sign-in (sso.saml, docs/sso.md: GakuNin, a campus Shibboleth IdP): on when the
# IdP's entity id, its metadata (a URL, whose signature MADOGUCHI_SAML_IDP_CERT_FILE must
# verify, or a file) and the desk's own key pair are set. The desk's entity id is
# SITE_URL + /sso/saml/metadata/, its assertion consumer SITE_URL + /sso/saml/acs/.
SAML_IDP_METADATA_URL = env("MADOGUCHI_SAML_IDP_METADATA_URL").strip()
SAML_IDP_METADATA_FILE = env("MADOGUCHI_SAML_IDP_METADATA_FILE").strip()
SAML_IDP_CERT_FILE = env("MADOGUCHI_SAML_IDP_CERT_FILE").strip()
SAML_IDP_ENTITY_ID = env("MADOGUCHI_SAML_IDP_ENTITY_ID").strip()
SAML_SP_KEY_FILE = env("MADOGUCHI_SAML_SP_KEY_FILE").strip()
SAML_SP_CERT_FILE = env("MADOGUCHI_SAML_SP_CERT_FILE").strip()
SAML_NAME = env("MADOGUCHI_SAML_NAME").strip()  # the button's label; empty: a generic one
# The attribute that is the person's stable key: eduPersonPrincipalName, eduPersonTargetedID,
# pairwise-id, subject-id (or any attribute's name or urn:oid).
SAML_KEY_ATTRIBUTE = env("MADOGUCHI_SAML_KEY_ATTRIBUTE", "eduPersonPrincipalName").strip()
# The attribute holding the university's ID number (friendly name or urn:oid), if any.
SAML_COMMON_ID_ATTRIBUTE = env("MADOGUCHI_SAML_COMMON_ID_ATTRIBUTE").strip()
# affiliation value=member category; empty: MADOGUCHI_OIDC_CATEGORY_MAP's, or its default.
SAML_CATEGORY_MAP = env("MADOGUCHI_SAML_CATEGORY_MAP")
# isMemberOf value=staff tier (student or faculty). Empty: administrators set tiers.
SAML_STAFF_GROUPS = env("MADOGUCHI_SAML_STAFF_GROUPS")
# Leeway for NotBefore/NotOnOrAfter, seconds (at most 180).
SAML_CLOCK_SKEW_SECONDS = min(180, max(0, env_int("MADOGUCHI_SAML_CLOCK_SKEW_SECONDS", 120)))
# IdP-initiated (unsolicited) responses: off; when on, they sign requesters in only.
SAML_ALLOW_UNSOLICITED = env_bool("MADOGUCHI_SAML_ALLOW_UNSOLICITED", False)
SAML_HTTP_TIMEOUT_SECONDS = env_int("MADOGUCHI_SAML_HTTP_TIMEOUT_SECONDS", 30)
_saml_on = bool(SAML_IDP_ENTITY_ID and (SAML_IDP_METADATA_URL or SAML_IDP_METADATA_FILE))
# Requesters may sign in with a code mailed to any address: by default only where no
# identity provider is configured (with one, "signed in" means a member's account).
REQUESTER_CODE_SIGNIN = env_bool(
    "MADOGUCHI_REQUESTER_CODE_SIGNIN",
    not (OIDC_DISCOVERY_URL and OIDC_CLIENT_ID) and not _saml_on,
)

# Staff two-factor sign-in (staffauth/, docs/staff-sign-in.md): "none" (offered, not required),
# "faculty" (required for faculty staff and administrators) or "all" (every account).
STAFF_2FA_REQUIRED = env("MADOGUCHI_STAFF_2FA_REQUIRED", "none").strip().lower() or "none"
if STAFF_2FA_REQUIRED not in ("none", "faculty", "all"):
    raise ImproperlyConfigured("MADOGUCHI_STAFF_2FA_REQUIRED must be 'none', 'faculty' or 'all'")
# Publishable statistics (stats/, docs/privacy.md): counts from 1 to STATS_MIN_CELL - 1
# are shown as "< N"; shown counts are rounded to a multiple of STATS_ROUND_TO (1: none).
STATS_MIN_CELL = env_int("MADOGUCHI_STATS_MIN_CELL", 10)
STATS_ROUND_TO = env_int("MADOGUCHI_STATS_ROUND_TO", 1)
if STATS_MIN_CELL < 1 or STATS_ROUND_TO < 1:
    raise ImproperlyConfigured(
        "MADOGUCHI_STATS_MIN_CELL and MADOGUCHI_STATS_ROUND_TO must be at least 1"
    )
# A signed-in session ends after this long without activity, and this long after signing
# in whatever happens (staffauth.lifetime; 0: no such limit).
SESSION_IDLE_MINUTES = env_int("MADOGUCHI_SESSION_IDLE_MINUTES", 120)
SESSION_MAX_HOURS = env_int("MADOGUCHI_SESSION_MAX_HOURS", 12)
# Password reset links (Django's default token generator) work once, for this many seconds.
PASSWORD_RESET_TIMEOUT = 3600
# Reset requests per client address and per mail address ("N/seconds").
PASSWORD_RESET_PER_CLIENT = env("MADOGUCHI_PASSWORD_RESET_PER_CLIENT", "10/3600")
PASSWORD_RESET_PER_ADDRESS = env("MADOGUCHI_PASSWORD_RESET_PER_ADDRESS", "3/3600")
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("MADOGUCHI_SECURE_COOKIES", SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("MADOGUCHI_TIME_ZONE", "Asia/Tokyo")
USE_TZ = True
LANGUAGE_COOKIE_NAME = "madoguchi_lang"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- mail -------------------------------------------------------------------------------
DESK_ADDRESS = env("MADOGUCHI_DESK_ADDRESS", "support@helpdesk.localhost")
FALLBACK_ADDRESS = env("MADOGUCHI_FALLBACK_ADDRESS", DESK_ADDRESS)
DEFAULT_FROM_EMAIL = env("MADOGUCHI_FROM", f"madoguchi <{DESK_ADDRESS}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAIL_DOMAIN = DESK_ADDRESS.rpartition("@")[2] or "helpdesk.localhost"
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
else:
    EMAIL_BACKEND = "madoguchi.mail.spool.EmailBackend"  # Django's file backend, files 0600
    EMAIL_FILE_PATH = str(MAIL_SPOOL_DIR)
# Outbox retry schedule (seconds); after the last step a mail is marked failed.
MAIL_RETRY_DELAYS = [
    int(x) for x in env("MADOGUCHI_MAIL_RETRY_DELAYS", "10,30,60,120,300,600,1800,3600").split(",")
]

# Inbound mail.
MAIL_MAX_ATTACHMENTS = env_int("MADOGUCHI_MAIL_MAX_ATTACHMENTS", 50)
MAIL_MAX_ATTACHMENT_BYTES = env_int("MADOGUCHI_MAIL_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)
MAIL_MAX_TOTAL_BYTES = env_int("MADOGUCHI_MAIL_MAX_TOTAL_BYTES", 40 * 1024 * 1024)
# Automatic mail (confirmations) to one address per hour: stops loops with autoresponders.
MAIL_CONFIRMATIONS_PER_HOUR = env_int("MADOGUCHI_MAIL_CONFIRMATIONS_PER_HOUR", 3)
# The authserv-id(s) our receiving MTA writes into Authentication-Results; only those
# headers are believed (empty: the topmost header only).
MAIL_AUTHSERV_IDS = tuple(
    i.strip().lower() for i in env("MADOGUCHI_MAIL_AUTHSERV_ID").split(",") if i.strip()
)
# A reply whose sender fails SPF/DMARC: "flag" appends it marked, "triage" holds it as a new
# inquiry in faculty triage.
MAIL_UNVERIFIED_REPLIES = env("MADOGUCHI_MAIL_UNVERIFIED_REPLIES", "flag").strip().lower()
if MAIL_UNVERIFIED_REPLIES not in ("flag", "triage"):
    raise ImproperlyConfigured("MADOGUCHI_MAIL_UNVERIFIED_REPLIES must be 'flag' or 'triage'")

# --- intake limits ------------------------------------------------------------------------
MAX_ATTACHMENTS = env_int("MADOGUCHI_MAX_ATTACHMENTS", 5)
MAX_ATTACHMENT_BYTES = env_int("MADOGUCHI_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
MAX_ATTACHMENTS_TOTAL_BYTES = env_int("MADOGUCHI_MAX_ATTACHMENTS_TOTAL_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Anonymous intake (form and API) per client address.
INTAKE_RATE_LIMIT = env("MADOGUCHI_INTAKE_RATE_LIMIT", "20/600")
# Related-article suggestions while typing the form's subject, per client address.
KB_SUGGEST_RATE_LIMIT = env("MADOGUCHI_KB_SUGGEST_RATE_LIMIT", "120/600")
# Questions the answer bot was asked are kept this many days (0: not logged at all).
BOT_LOG_DAYS = env_int("MADOGUCHI_BOT_LOG_DAYS", 180)
# Retention (retention/, docs/privacy.md): the rules are set in the admin; they are applied
# once every this many hours, this many inquiries per transaction.
RETENTION_INTERVAL_HOURS = env_int("MADOGUCHI_RETENTION_INTERVAL_HOURS", 24)
RETENTION_BATCH = env_int("MADOGUCHI_RETENTION_BATCH", 200)
# --- live chat --------------------------------------------------------------------------
# Sites allowed to embed the widget (frame-ancestors), space- or comma-separated origins,
# e.g. "https://www.example.ac.jp https://help.example.ac.jp". The desk itself always may.
CHAT_WIDGET_ORIGINS = [
    o.rstrip("/") for o in env("MADOGUCHI_CHAT_WIDGET_ORIGINS", "").replace(",", " ").split()
]
# Threads for the live sockets' database work (core/realtime.py); 0: one on SQLite, four
# on PostgreSQL (keep it below MADOGUCHI_DB_POOL_SIZE).
REALTIME_DB_THREADS = env_int("MADOGUCHI_REALTIME_DB_THREADS", 0)
CHAT_MAX_MESSAGE_CHARS = env_int("MADOGUCHI_CHAT_MAX_MESSAGE_CHARS", 2000)
# Messages a requester may send: burst size and refill per second.
CHAT_RATE_BURST = env_int("MADOGUCHI_CHAT_RATE_BURST", 8)
CHAT_RATE_PER_SECOND = float(env("MADOGUCHI_CHAT_RATE_PER_SECOND", "1"))
# New conversations per client address.
CHAT_NEW_RATE_LIMIT = env("MADOGUCHI_CHAT_NEW_RATE_LIMIT", "20/3600")
# Hand-over: beyond this many waiting, or this estimated wait, the widget offers the form.
CHAT_MAX_QUEUE = env_int("MADOGUCHI_CHAT_MAX_QUEUE", 15)
CHAT_MAX_WAIT_MINUTES = env_int("MADOGUCHI_CHAT_MAX_WAIT_MINUTES", 30)
# "accept": operators pick chats from the queue; "round_robin": the desk assigns them.
CHAT_ROUTING = env("MADOGUCHI_CHAT_ROUTING", "accept")
CHAT_DEFAULT_MAX_CHATS = env_int("MADOGUCHI_CHAT_DEFAULT_MAX_CHATS", 3)
# A waiting requester who closed the page is dropped from the queue after this long.
CHAT_QUEUE_GRACE_SECONDS = env_int("MADOGUCHI_CHAT_QUEUE_GRACE_SECONDS", 180)
# Conversations with no activity for this long are closed.
CHAT_IDLE_MINUTES = env_int("MADOGUCHI_CHAT_IDLE_MINUTES", 60)
# A re-submission with the same content within this many seconds returns the same inquiry.
DUPLICATE_WINDOW_SECONDS = env_int("MADOGUCHI_DUPLICATE_WINDOW_SECONDS", 600)
# How long a requester's signed link stays valid (days).
REQUESTER_LINK_MAX_AGE_DAYS = env_int("MADOGUCHI_REQUESTER_LINK_DAYS", 365)
# Reverse proxies whose X-Forwarded-For is believed (addresses or networks). The client is
# the right-most address that is not one of them (core.ratelimit.resolve_client). The old
# switch MADOGUCHI_TRUST_X_FORWARDED_FOR=true means a proxy on this host.
TRUSTED_PROXIES = tuple(
    ipaddress.ip_network(part, strict=False)
    for part in (
        env("MADOGUCHI_TRUSTED_PROXIES")
        or ("127.0.0.1,::1" if env_bool("MADOGUCHI_TRUST_X_FORWARDED_FOR", False) else "")
    )
    .replace(",", " ")
    .split()
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("MADOGUCHI_LOG_LEVEL", "INFO")},
    "loggers": {"django_tasks": {"level": "WARNING"}, "django_tasks_db": {"level": "WARNING"}},
}

# --- calls (docs/calls.md) ---------------------------------------------------------------
CALL_MAX_MINUTES = env_int("MADOGUCHI_CALL_MAX_MINUTES", 40)
CALL_WARN_MINUTES = (5, 1)  # warnings this many minutes before the time limit
CALL_AVERAGE_MINUTES = env_int("MADOGUCHI_CALL_AVERAGE_MINUTES", 12)  # for the wait estimate
CALL_MAX_QUEUE = env_int("MADOGUCHI_CALL_MAX_QUEUE", 10)
CALL_REJOIN_GRACE_SECONDS = env_int("MADOGUCHI_CALL_REJOIN_GRACE_SECONDS", 120)
CALL_REQUIRE_SIGNIN = env_bool("MADOGUCHI_CALL_REQUIRE_SIGNIN", False)
# The bot answers everyone; with this, a person (an operator) only signed-in requesters.
CHAT_REQUIRE_SIGNIN = env_bool("MADOGUCHI_CHAT_REQUIRE_SIGNIN", False)
CALL_CODE_MINUTES = env_int("MADOGUCHI_CALL_CODE_MINUTES", 10)
CALL_CODE_MAX_MISSES = env_int("MADOGUCHI_CALL_CODE_MAX_MISSES", 5)  # per address, then locked
CALL_CODE_LOCKOUT_MINUTES = env_int("MADOGUCHI_CALL_CODE_LOCKOUT_MINUTES", 15)
CALL_CODE_GLOBAL_MISSES_PER_HOUR = env_int("MADOGUCHI_CALL_CODE_GLOBAL_MISSES_PER_HOUR", 200)
CALL_SCREENSHOT_CONSENT_SECONDS = env_int("MADOGUCHI_CALL_SCREENSHOT_CONSENT_SECONDS", 120)
SCREENSHOT_RETENTION_DAYS = env_int("MADOGUCHI_SCREENSHOT_RETENTION_DAYS", 7)
SCREENSHOT_MAX_BYTES = env_int("MADOGUCHI_SCREENSHOT_MAX_BYTES", 8 * 1024 * 1024)

# Online calls (WebRTC): the media goes peer to peer, or through a TURN relay; never through
# the desk. The browsers are given these STUN and TURN servers (calls.turn.ice_servers).
# Lists are separated by spaces or commas. See docs/calls.md.


def _ice_urls(name: str, schemes: tuple[str, ...]) -> list[str]:
    try:
        return validate_urls(env(name).replace(",", " ").split(), schemes=schemes)
    except InvalidIceUrl as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


# e.g. "stun:turn.example.ac.jp:3478" (coturn answers STUN too). None by default: no
# third-party server learns who calls.
CALL_STUN_URLS = _ice_urls("MADOGUCHI_CALL_STUN_URLS", ("stun",))
# e.g. "turn:turn.example.ac.jp:3478?transport=udp turns:turn.example.ac.jp:443?transport=tcp"
CALL_TURN_URLS = _ice_urls("MADOGUCHI_CALL_TURN_URLS", TURN_SCHEMES)
# coturn's static-auth-secret (use-auth-secret): the desk mints short-lived TURN passwords.
CALL_TURN_SECRET = env("MADOGUCHI_CALL_TURN_SECRET")
# How long a minted TURN credential is valid. coturn refuses an expired one also when a
# running call refreshes its relay, so this must cover the longest call.
CALL_TURN_TTL_SECONDS = env_int("MADOGUCHI_CALL_TURN_TTL_SECONDS", 3600)
# "relay": the browsers connect only through TURN, so neither side learns the other's
# network address (a student operator does not see a requester's home address). Needs TURN.
CALL_ICE_POLICY = env("MADOGUCHI_CALL_ICE_POLICY", "all").strip().lower() or "all"
if CALL_ICE_POLICY not in ("all", "relay"):
    raise ImproperlyConfigured("MADOGUCHI_CALL_ICE_POLICY must be all or relay")
if CALL_ICE_POLICY == "relay" and not CALL_TURN_URLS:
    raise ImproperlyConfigured(
        "MADOGUCHI_CALL_ICE_POLICY=relay needs TURN: set MADOGUCHI_CALL_TURN_URLS and _SECRET"
    )
if CALL_TURN_URLS and not CALL_TURN_SECRET:
    raise ImproperlyConfigured(
        "MADOGUCHI_CALL_TURN_URLS is set but MADOGUCHI_CALL_TURN_SECRET is not: "
        "set it to coturn's static-auth-secret (or unset the TURN URLs)"
    )
if CALL_TURN_TTL_SECONDS < 60:
    raise ImproperlyConfigured("MADOGUCHI_CALL_TURN_TTL_SECONDS must be at least 60")
if CALL_TURN_SECRET and CALL_TURN_TTL_SECONDS < CALL_MAX_MINUTES * 60:
    raise ImproperlyConfigured(
        "MADOGUCHI_CALL_TURN_TTL_SECONDS must cover the longest call"
        f" (MADOGUCHI_CALL_MAX_MINUTES = {CALL_MAX_MINUTES} min)"
    )
