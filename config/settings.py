"""Ambassador settings: one module, driven by the environment (django-environ).

Every variable is documented in `.env.example`. Defaults give the embedded, laptop setup
(SQLite, a file-system Celery broker, console e-mail, providers off); production sets
DATABASE_URL / REDIS_URL / SECRET_KEY / DEBUG=off and the provider credentials.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def _local_secret_key() -> str:
    # For local use only: generated once into var/ so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required in production: no default on purpose

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The marketing site the redirects lead to, and the hosts a redirect may ever reach.
SITE_URL = env.str("SITE_URL", default="https://example.com").rstrip("/")
SITE_HOSTS = env.list("SITE_HOSTS", default=[urlsplit(SITE_URL).hostname or "example.com"])
COOKIE_DOMAIN = env.str("COOKIE_DOMAIN", default="") or None
# Public URL of Ambassador itself (links in e-mails, Stripe Connect return URLs).
AMBASSADOR_URL = env.str("AMBASSADOR_URL", default="http://127.0.0.1:8000").rstrip("/")
PROGRAM_CURRENCY = env.str("PROGRAM_CURRENCY", default="USD")
PROGRAM_NAME = env.str("PROGRAM_NAME", default="Ambassador")
# Outbound webhooks may call private / loopback addresses (SSRF guard off): dev and tests only.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "webhooks",  # the bottom layer: every app may emit, it imports none
    "affiliates",
    "tracking",
    "commissions",
    "payouts",
    "dashboard",
    "emails",  # the e-mails (catalog, periodic mails, unsubscribe, previews); reads from every app
]

MIDDLEWARE = [
    # Health probes first: answered before host validation and the HTTPS redirect.
    "config.middleware.HealthProbeMiddleware",
    # Outside everything else, so it also sees errors raised by the middlewares below.
    "config.middleware.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "affiliates.middleware.LanguageResetMiddleware",  # the thread back to "en" after a response
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # cookie, then Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An affiliate's saved language wins over the browser; the switcher's choice is saved.
    "affiliates.middleware.AffiliateLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "affiliates.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that lowercases the typed e-mail (stored lowercase).
    "affiliates.backends.EmailBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        # Every template of ours is under templates/ (one place, by app: templates/<app>/…,
        # admin overrides under templates/admin/); APP_DIRS finds Django's and the
        # libraries' own (admin, DRF, drf-spectacular).
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE: <html lang>
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite under var/ by default. Persistent connections matter: without them every
# request pays a PostgreSQL connection set-up and throughput falls ~6x.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ambassador.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # web, worker and beat are separate processes writing one file (PROVIDERS.md, SQLite):
    # - BEGIN IMMEDIATE: a transaction takes the write lock when it starts and waits up to
    #   `timeout` seconds for it. Django's default deferred BEGIN reads first and fails at
    #   once with "database is locked" when it then writes while another process writes —
    #   the busy timeout does not cover that upgrade.
    # - WAL: readers go on while one process writes; persistent in the file, set on every
    #   connection anyway (cheap, and a copied or restored file gets it back).
    #   synchronous=NORMAL is safe with WAL (a power cut may lose the last commits, never
    #   corrupt the file) and saves an fsync per commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,  # seconds a writer waits for the lock
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in-memory test database
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
# Dashboard and export reads on a read replica (config/db_router.py); tests mirror default.
if DATABASE_REPLICA_URL := env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL) | {"TEST": {"MIRROR": "default"}}
    DATABASES["replica"].update(
        CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True
    )
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
    MIDDLEWARE.append("config.db_router.PinPrimaryMiddleware")
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)  # primary after a POST

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache and broker when set; otherwise a local-memory cache and a file-system broker.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control/
        # kombu's virtual transports sleep `polling_interval` (default 1 s) whenever the
        # worker may not take another message; with prefetch 1 that is after every task, so
        # a worker of concurrency 2 ran 2 tasks/s and a burst of API payments left a
        # backlog of minutes ahead of the rollup sweeper. 0.1 s: ~20 tasks/s, and an idle
        # worker lists one folder ten times a second.
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Above the longest task (a payout run over 10,000 affiliates stays well under 1 h),
    # so an unacknowledged task is redelivered only when its worker really died.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
# Results are not needed by our tasks (they write their outcome to the database); the CI
# smoke test sets a backend to see a round trip.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Kinsta's eight, each named in itself (the switcher reads the same in every language).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LANGUAGES += [("it", "Italiano"), ("nl", "Nederlands"), ("pt", "Português"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # .mo committed: no system gettext needed (make messages)
TIME_ZONE = "UTC"
USE_I18N = True
USE_THOUSAND_SEPARATOR = True  # numbers per locale; money: config.money.format_money
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: console by default, so a laptop prints the messages.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ambassador <affiliates@example.com>")

# Security when DEBUG is off (manage.py check --deploy passes with these).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Django's setting is SECURE_REDIRECT_EXEMPT: regexes matched against the path without its
# leading slash. (HealthProbeMiddleware answers the probes before this redirect anyway; this
# keeps them exempt should the middleware order change.)
SECURE_REDIRECT_EXEMPT = [r"^healthz/"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Login rate limit (django-axes): 5 failures lock the username+IP pair for 1 hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# API: Bearer API keys for servers, sessions for the dashboard; one error shape.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.IsApiClient"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # JSON that is nested too deep for Python's parser is a 400, not a RecursionError 500.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ambassador API",
    "DESCRIPTION": "Affiliate program: clicks, signups, payments, commissions, payouts. "
    "Amounts are integer minor units beside an ISO 4217 currency.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several components have a "status" field with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "AffiliateStatusEnum": "affiliates.models.Affiliate.Status",
        "PaymentStatusEnum": ["recorded", "skipped"],
        "RefundStatusEnum": ["applied", "waiting_for_payment"],
    },
}

# --- Payment providers: each has an on/off switch (credentials set) so a laptop runs without.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # e.g. http://127.0.0.1:8420 (localstripe)
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_MODE = env.str("PAYPAL_MODE", default="sandbox")
PAYPAL_API_BASE = env.str("PAYPAL_API_BASE", default="")  # e.g. http://127.0.0.1:8421 (local fake)
PAYPAL_WEBHOOK_ID = env.str("PAYPAL_WEBHOOK_ID", default="")

# Stage two of stored provider events (commissions.ingest): event type → dotted paths of the
# handlers that turn it into rows, run in order in one savepoint, each called with the
# StoredEvent. A type not listed is stored and marked "unhandled". Payments and refunds
# posted to the API are stored as `api.payment` / `api.refund` events and handled the same
# way. Why a table in settings rather than handlers registered at import time: Connect's
# events arrive through the commissions app's Stripe store, but their handler is payouts'
# and commissions must not import payouts (affiliates ← tracking ← commissions ← payouts).
# So the wiring lives here, above every app, as MIDDLEWARE does (dependency inversion), and
# what runs for what is read in one place. Resolved once, with import_string, on first use.
STRIPE_EVENT_HANDLERS: dict[str, list[str]] = {
    # Real Stripe sends both for one paid invoice, localstripe only the second: one Payment
    # per invoice id either way.
    "invoice.paid": ["commissions.ingest.stripe_handlers.handle_invoice_paid"],
    "invoice.payment_succeeded": ["commissions.ingest.stripe_handlers.handle_invoice_paid"],
    "charge.refunded": ["commissions.ingest.stripe_handlers.handle_charge_refunded"],
    "refund.created": ["commissions.ingest.stripe_handlers.handle_refund"],
    "refund.updated": ["commissions.ingest.stripe_handlers.handle_refund"],
    "charge.refund.updated": ["commissions.ingest.stripe_handlers.handle_refund"],
    # Written by sync_stripe from GET /v1/refunds (localstripe sends no refund events).
    "refund.synced": ["commissions.ingest.stripe_handlers.handle_refund"],
    "charge.dispute.created": ["commissions.ingest.stripe_handlers.handle_dispute"],
    "charge.dispute.updated": ["commissions.ingest.stripe_handlers.handle_dispute"],
    "charge.dispute.closed": ["commissions.ingest.stripe_handlers.handle_dispute"],
    "customer.subscription.created": ["commissions.ingest.stripe_handlers.handle_subscription"],
    "customer.subscription.updated": ["commissions.ingest.stripe_handlers.handle_subscription"],
    "customer.subscription.deleted": ["commissions.ingest.stripe_handlers.handle_subscription"],
    "customer.created": ["commissions.ingest.stripe_handlers.handle_customer"],
    "customer.updated": ["commissions.ingest.stripe_handlers.handle_customer"],
    "checkout.session.completed": ["commissions.ingest.stripe_handlers.handle_checkout_completed"],
    # Stripe Connect: connected accounts' state (via /webhooks/stripe/connect/) and
    # reversals of our transfers (platform objects, so via /webhooks/stripe/).
    "account.updated": ["payouts.services.handle_stripe_event"],
    "transfer.reversed": ["payouts.services.handle_stripe_event"],
    # Reported through POST /api/v1/payments and /api/v1/refunds.
    "api.payment": ["commissions.ingest.api_handlers.handle_api_payment"],
    "api.refund": ["commissions.ingest.api_handlers.handle_api_refund"],
}

# --- Affiliates (issue 3)
# Marketing-site routes that can never be usernames (Ambassador's own routes are added
# automatically from the URL resolver).
RESERVED_USERNAMES = env.list(
    "RESERVED_USERNAMES",
    default=[
        "plans",
        "pricing",
        "blog",
        "login",
        "signup",
        "register",
        "about",
        "help",
        "terms",
        "privacy",
        "contact",
        "docs",
        "support",
        "careers",
        "jobs",
        "features",
        "app",
        "dashboard",
        "account",
        "settings",
        "admin",
        "api",
        "static",
        "media",
        "www",
        "mail",
        "status",
        "security",
        "legal",
        "affiliates",
        "affiliate",
        "partners",
    ],
)
AUTO_APPROVE_PAYING_CUSTOMERS = env.bool("AUTO_APPROVE_PAYING_CUSTOMERS", default=True)
# Renames per period: every name ever held stays reserved for its affiliate, so this bounds
# how many names one affiliate can take out of circulation.
USERNAME_CHANGE_LIMIT = env.int("USERNAME_CHANGE_LIMIT", default=3)
USERNAME_CHANGE_PERIOD_DAYS = env.int("USERNAME_CHANGE_PERIOD_DAYS", default=30)
# Django's login form posts the e-mail as "username"; axes would otherwise look for a field
# named after USERNAME_FIELD ("email"), record failures under no username at all and let a
# correct password through a lockout.
AXES_USERNAME_FORM_FIELD = "username"
# Failures count per normalised e-mail, like the login itself (affiliates.backends).
AXES_USERNAME_CALLABLE = "affiliates.backends.axes_username"

# --- Tracking (issue 4)
REFERRAL_COOKIE_DAYS = env.int("REFERRAL_COOKIE_DAYS", default=30)
ATTRIBUTION = env.str("ATTRIBUTION", default="first_click")  # or "last_click"
UTM_TAGS = env.bool("UTM_TAGS", default=True)
AD_REFERRER_PATTERNS = env.list(
    "AD_REFERRER_PATTERNS",
    default=[
        "googleadservices.com",
        "doubleclick.net",
        "googlesyndication.com",
        "shareasale.com",
        "awin1.com",
        "cj.com",
        "impact.com",
        "bing.com/aclk",
    ],
)
# User-agent prefixes honoured although crawlerdetect lists them: command-line clients a
# person uses to try a link by hand.
BOT_UA_ALLOW = env.list("BOT_UA_ALLOW", default=["curl/", "Wget/", "HTTPie/"])
# Query parameters that mark a paid-ad click (not honoured: no cookie, no click, no commission).
AD_CLICK_PARAMS = env.list(
    "AD_CLICK_PARAMS", default=["gclid", "gad_source", "gbraid", "wbraid", "msclkid", "via"]
)
# Tracking noise removed from the link before the redirect (ad click ids and our own ?ref=).
CLICK_STRIP_PARAMS = env.list(
    "CLICK_STRIP_PARAMS",
    default=["ref", "kaid", "fbclid", "mc_cid", "mc_eid", "_hsenc", "_hsmsi", "igshid"],
)
# Referrer domains counted as utm_medium=social (a subdomain matches too).
SOCIAL_DOMAINS = env.list(
    "SOCIAL_DOMAINS",
    default=(
        "facebook.com fb.com instagram.com t.co twitter.com x.com linkedin.com lnkd.in"
        " youtube.com youtu.be reddit.com pinterest.com tiktok.com threads.net bsky.app"
        " mastodon.social"
    ).split(),
)
# Webmail domains: a customer sharing one with the affiliate is not a self-referral.
WEBMAIL_DOMAINS = env.list(
    "WEBMAIL_DOMAINS",
    default=(
        "gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com"
        " ymail.com icloud.com me.com mac.com aol.com proton.me protonmail.com gmx.com gmx.de"
        " gmx.net web.de mail.com yandex.com yandex.ru zoho.com fastmail.com hey.com qq.com"
        " 163.com"
    ).split(),
)
# Whether the marketing site's paths end in "/" (the redirect follows the site's habit).
SITE_TRAILING_SLASH = env.bool("SITE_TRAILING_SLASH", default=True)
# Where the visitor's IP comes from: REMOTE_ADDR, or HTTP_X_FORWARDED_FOR behind a proxy
# (its last entry, the one our proxy appended). Only hashed, never stored.
CLICK_IP_HEADER = env.str("CLICK_IP_HEADER", default="REMOTE_ADDR")
# "redis": clicks are pushed to a Redis list and bulk-inserted by tracking.flush_clicks every
# 2 s (needs REDIS_URL; run Redis with appendonly so a restart keeps the buffer).
# "db": one INSERT per click, before the 302 (the embedded default without Redis).
CLICK_BUFFER = env.str("CLICK_BUFFER", default="redis" if REDIS_URL else "db")
# Raw clicks older than this are dropped (whole months on PostgreSQL); rollups stay. Never
# below REFERRAL_COOKIE_DAYS + 2 (tracking.services.retention says why).
CLICK_RETENTION_DAYS = env.int("CLICK_RETENTION_DAYS", default=400)

# --- Commissions (issue 5)
# Hold before a commission is approved: N × 24 h on UTC instants (= N calendar days in UTC).
COMMISSION_HOLD_DAYS = env.int("COMMISSION_HOLD_DAYS", default=30)

# --- Perks (issue 12): affiliates.services.apply_perks, run by the beat jobs
# Two-weekly payouts for affiliates whose last month's sales (program currency, minor units)
# are above this: 100000 = $1,000.00 (the monthly job on the 1st).
TWO_WEEKLY_PAYOUT_SALES = env.int("TWO_WEEKLY_PAYOUT_SALES", default=100_000)
# Early access for affiliates with a click or a new referral in this many days (daily job).
EARLY_ACCESS_ACTIVE_DAYS = env.int("EARLY_ACCESS_ACTIVE_DAYS", default=30)

# --- Payouts (issue 6)
PAYOUT_REQUIRE_APPROVAL = env.bool("PAYOUT_REQUIRE_APPROVAL", default=False)
# Anti-takeover: payouts wait this long after any change of payout method or details.
PAYOUT_DETAILS_HOLD_HOURS = env.int("PAYOUT_DETAILS_HOLD_HOURS", default=48)
# Stripe Connect (transfers to affiliates) uses the platform key and base URL unless set
# apart, e.g. a local Connect peer while payments come from localstripe.
STRIPE_CONNECT_SECRET_KEY = env.str("STRIPE_CONNECT_SECRET_KEY", default="") or STRIPE_SECRET_KEY
STRIPE_CONNECT_API_BASE = env.str("STRIPE_CONNECT_API_BASE", default="") or STRIPE_API_BASE
STRIPE_CONNECT_COUNTRY = env.str("STRIPE_CONNECT_COUNTRY", default="")  # blank: Stripe decides
# whsec_… of the Connect endpoint /webhooks/stripe/connect/. Stripe sends connected
# accounts' events (account.updated) only to endpoints registered as Connect endpoints, each
# with its own secret; blank: that endpoint answers 503 and the periodic refresh still runs.
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Creatives (issue 11): uploads under MEDIA_ROOT, served at MEDIA_URL by
# tracking.creative_views (nginx may serve MEDIA_ROOT/creatives/ instead; its docstring).
# Size is checked by the model's validator; behind nginx set client_max_body_size too.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
CREATIVE_MAX_BYTES = env.int("CREATIVE_MAX_BYTES", default=2 * 1024 * 1024)
CREATIVE_MAX_SIDE = env.int("CREATIVE_MAX_SIDE", default=4000)  # pixels, width or height

# --- Mobile app installs (issue 12): GET /r/claim-code's single-purpose codes live this long
# (an install and first launch usually follow within minutes; a week covers "later tonight").
CLAIM_CODE_DAYS = env.int("CLAIM_CODE_DAYS", default=7)
