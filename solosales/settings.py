"""SoloSales settings: one module, driven by environment variables (django-environ).

With no environment at all it runs the demo: SQLite file database, Redis at
127.0.0.1:6379, DEBUG on. ``DJANGO_ENV=production`` turns on the hardened profile.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DJANGO_ENV = env.str("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", not PRODUCTION)
SECRET_KEY = env.str(
    "SECRET_KEY",
    "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz" if not PRODUCTION else "",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "solosales.accounts",
    "solosales.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "waffle",
    "simple_history",
    "django_fsm",
    "csp",
    "wallet",
    "providers",
    "orders",
    "qualification",
    "disputes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "solosales.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

ROOT_URLCONF = "solosales.urls"
WSGI_APPLICATION = "solosales.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "solosales.core.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs web and worker against one file: wait for locks, write-lock up front.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
else:
    # Persistent connections (one per worker process/thread, checked before reuse): a new
    # PostgreSQL backend per request costs more than most requests (bench B1/B2).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that needs no round trip (its docstring).
        DATABASES["default"]["ENGINE"] = "solosales.core.db.postgresql"
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# The few statements sent as written (solosales.core.db.server_cursor) are prepared once per
# connection; off behind a transaction-mode pooler that does not keep prepared statements.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and jobs ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/0")
# JOBS_INLINE: run jobs in-process (no Redis). `make run` sets it when Redis does not answer.
JOBS_INLINE = env.bool("JOBS_INLINE", False)
RQ_QUEUE_NAMES = ["default", "providers", "email", "webhooks"]
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in RQ_QUEUE_NAMES}
RQ_SHOW_ADMIN_LINK = True
# Redis (shared by every process: login and API rate limits count once for all workers),
# a miss when Redis does not answer (solosales/core/cache.py); in-process without Redis.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if JOBS_INLINE
        else {
            "BACKEND": "solosales.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "solosales-cache",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    )
}

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
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
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SoloSales] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_ADAPTER = "solosales.accounts.adapter.AccountAdapter"

# --- i18n -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
FORMAT_MODULE_PATH = ["solosales.formats"]
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static, media, private files -----------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded evidence and generated exports live outside the web root; views serve them.
PRIVATE_ROOT = Path(env.str("PRIVATE_ROOT", str(BASE_DIR / "var" / "private")))
MEDIA_ROOT = PRIVATE_ROOT
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Email ----------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "SoloSales <noreply@solosales.example>")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "solosales.core.mail.OutboxEmailBackend")
# The demo outbox page (/outbox/) is public only for the demo; staff can always read it.
DEMO_OUTBOX_PUBLIC = env.bool("DEMO_OUTBOX_PUBLIC", DEBUG)

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "solosales.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["solosales.core.permissions.IsVerifiedClient"],
    "DEFAULT_PAGINATION_CLASS": "solosales.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "solosales.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_RATE_LIMIT", "6000/minute")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SoloSales API",
    "DESCRIPTION": "Credits, lead-list orders, qualification reports and disputes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "OrderTypeEnum": "orders.models.OrderType",
    },
}

# --- Feature flags ----------------------------------------------------------
WAFFLE_CREATE_MISSING_SWITCHES = False
WAFFLE_SWITCH_DEFAULT = False

# --- External services (empty key = local stand-in) -------------------------
# Outside production an empty key means a local stand-in (the test checkout, the outbox);
# in production every webhook secret must be set and the test checkout is off (see
# solosales/core/checks.py: the app refuses to start otherwise).
LOCAL_STRIPE_WEBHOOK_SECRET = "whsec_local_test_checkout_secret"
LOCAL_SENDCLOUD_APP_KEY = "local-sendcloud-app-key"
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", "" if PRODUCTION else LOCAL_STRIPE_WEBHOOK_SECRET)
# The local test checkout (a "Pay" button standing in for Stripe when STRIPE_SECRET_KEY is
# empty): the demo and tests only, never in production.
TEST_CHECKOUT = env.bool("TEST_CHECKOUT", not PRODUCTION)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", "https://api.stripe.com")
CREDITS_CURRENCY = env.str("CREDITS_CURRENCY", "cny")
SENDCLOUD_API_USER = env.str("SENDCLOUD_API_USER", "")
SENDCLOUD_API_KEY = env.str("SENDCLOUD_API_KEY", "")
SENDCLOUD_APP_KEY = env.str("SENDCLOUD_APP_KEY", "" if PRODUCTION else LOCAL_SENDCLOUD_APP_KEY)
SENDCLOUD_API_BASE = env.str("SENDCLOUD_API_BASE", "https://api.sendcloud.net/apiv2")
SENDCLOUD_FROM = env.str("SENDCLOUD_FROM", "hello@solosales.example")
ROCKETREACH_API_KEY = env.str("ROCKETREACH_API_KEY", "")
ROCKETREACH_API_BASE = env.str("ROCKETREACH_API_BASE", "https://api.rocketreach.co/api/v2")
HUNTER_API_KEY = env.str("HUNTER_API_KEY", "")
HUNTER_API_BASE = env.str("HUNTER_API_BASE", "https://api.hunter.io/v2")
# Demo time scale: 1 nurture "day" lasts this many seconds (86400 = real time).
NURTURE_SECONDS_PER_DAY = env.int("NURTURE_SECONDS_PER_DAY", 86400)
LOW_BALANCE_THRESHOLD = env.int("LOW_BALANCE_THRESHOLD", 50)
DISPUTE_SECOND_APPROVER_ABOVE = env.int("DISPUTE_SECOND_APPROVER_ABOVE", 500)

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
