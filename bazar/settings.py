"""Bazar settings: one module, configured only through environment variables (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# ---------------------------------------------------------------- core
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-" + "x" * 40
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:3000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_tasks_db",
    "accounts",
    "organizations",
    "assistants",
]

MIDDLEWARE = [
    "bazar.logging.request_log_middleware",
    "bazar.middleware.RequestSizeLimitMiddleware",
    "bazar.middleware.DatabaseReconnectMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bazar.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Sessions, CSRF, the session user and flash messages serve the admin only: API requests skip from here to
    # api_rejoins_here (bazar/middleware.py). Django's own classes, so that `check --deploy` sees them.
    "bazar.middleware.APISkipsFromHere",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bazar.middleware.api_rejoins_here",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bazar.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "bazar.urls"
WSGI_APPLICATION = "bazar.wsgi.application"
ASGI_APPLICATION = "bazar.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide template overrides (the offline ReDoc page).
        "DIRS": [BASE_DIR / "bazar" / "templates"],
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

# ---------------------------------------------------------------- database
# No DATABASE_URL: an SQLite file in the project (the embedded default).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    from psycopg_pool import ConnectionPool

    # psycopg 3's pool keeps connections warm; health checks make a PostgreSQL restart invisible.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DB_POOL_TIMEOUT", default=10),
            # Test each connection as it leaves the pool, so a restarted server costs no failed request.
            "check": ConnectionPool.check_connection,
        },
    }
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_bazar")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- cache
# No REDIS_URL: local-memory cache. With Redis, a Redis outage degrades to cache misses, never a 500.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="bazar"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # django-redis's default (connections stay pooled at the end of a request), written out: it looks this setting
    # up after every request (Django's close_caches), and a missing setting costs a raised AttributeError each time.
    DJANGO_REDIS_CLOSE_CONNECTION = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bazar"}}
# Cache the signed-in user and the users and assistants lists (bazar/caching.py). Only where every process shares
# the cache: with the local-memory one, each worker would keep its own copy and never hear of another's writes.
CACHE_READS = env.bool("CACHE_READS", default=bool(REDIS_URL))
# "strict": the same store as "default", but failures raise instead of turning into misses, for the callers that
# must know the cache is down (login lockout falls back to process memory, idempotency refuses to guess).
CACHES["strict"] = dict(CACHES["default"])
if REDIS_URL:
    CACHES["strict"]["OPTIONS"] = {**CACHES["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": False}

# ---------------------------------------------------------------- auth
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    # Argon2id tuned to ~50-100 ms of CPU per login on the reference machine (docs/benchmarks.md).
    "accounts.hashers.BazarArgon2PasswordHasher",
    "accounts.hashers.BazarPBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
REQUIRE_EMAIL_VERIFICATION = env.bool("REQUIRE_EMAIL_VERIFICATION", default=True)
EMAIL_VERIFICATION_TIMEOUT = env.int("EMAIL_VERIFICATION_TIMEOUT", default=60 * 60 * 48)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Login lockout (accounts/lockout.py): this many failures within the window lock the account, or the client
# address, for the lockout duration.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)
LOGIN_LOCKOUT_DURATION = env.int("LOGIN_LOCKOUT_DURATION", default=15 * 60)
SUPERUSER_EMAIL = env.str("SUPERUSER_EMAIL", default="")
SUPERUSER_PASSWORD = env.str("SUPERUSER_PASSWORD", default="")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_LIFETIME", default=5 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_LIFETIME", default=7 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    # An empty JWT_SIGNING_KEY must never mean "sign with an empty key".
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "ISSUER": env.str("JWT_ISSUER", default="bazar"),
    "AUDIENCE": env.str("JWT_AUDIENCE", default="bazar-api"),
    "LEEWAY": 5,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("accounts.authentication.AccessToken",),
}

# ---------------------------------------------------------------- API
PAGE_SIZE = env.int("PAGE_SIZE", default=20)
MAX_PAGE_SIZE = 100
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "bazar.pagination.PageNumberPagination",
    "PAGE_SIZE": PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "bazar.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "drf_orjson_renderer.parsers.ORJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "bazar.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["bazar.throttling.PlanRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Per-plan API rates for authenticated users; anonymous callers are keyed on their address.
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "plan_FREE": env.str("THROTTLE_PLAN_FREE", default="120/min"),
        "plan_PLUS": env.str("THROTTLE_PLAN_PLUS", default="600/min"),
        "plan_PREMIUM": env.str("THROTTLE_PLAN_PREMIUM", default="1200/min"),
        "plan_staff": env.str("THROTTLE_STAFF", default="3000/min"),
        # Auth endpoints, keyed on the client address.
        "auth_login": env.str("THROTTLE_LOGIN", default="10/min"),
        "auth_register": env.str("THROTTLE_REGISTER", default="5/min"),
        "auth_email": env.str("THROTTLE_AUTH_EMAIL", default="5/min"),
        "auth_token": env.str("THROTTLE_AUTH_TOKEN", default="30/min"),
        # Mails to one account (forgot-password, resend verification), keyed on its address, from any client.
        "auth_email_account": env.str("THROTTLE_AUTH_EMAIL_ACCOUNT", default="5/hour"),
        # Signed-in writes naming an email (users/me, users create/update), per caller: email_taken is a lookup.
        "user_email": env.str("THROTTLE_USER_EMAIL", default="20/hour"),
    },
    # Number of trusted reverse proxies in front of the app; decides which X-Forwarded-For hop is the client.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": False,
    "EXCEPTION_HANDLER_CLASS": "bazar.exceptions.ExceptionHandler",
    # 413 can answer any request (bazar.middleware caps every body), so every operation documents it.
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "413", "415", "429", "500"],
    "ERROR_SCHEMAS": {
        "413": "bazar.exceptions.RequestTooLargeResponseSerializer",
        "401": "bazar.exceptions.UnauthorizedResponseSerializer",
        "403": "bazar.exceptions.ForbiddenResponseSerializer",
        "429": "bazar.exceptions.TooManyRequestsResponseSerializer",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bazar API",
    "DESCRIPTION": "Multi-tenant AI-assistant platform: accounts, organizations, assistants, threads, runs, files.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "RoleEnum": "accounts.roles.Role.choices",
        "PlanEnum": "accounts.roles.Plan.choices",
        "OrgRoleEnum": "organizations.roles.OrgRole.choices",
        "InvitationStatusEnum": "organizations.models.InvitationStatus.choices",
        "MessageRoleEnum": "assistants.models.MessageRole.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "bazar.openapi.postprocess_indexed_attrs",
        "bazar.openapi.postprocess_request_line_limit",
    ],
}
# Idempotency-Key (bazar/idempotency.py): how long a first response is replayed, and how long a claimed key
# stays "in progress" if its worker dies mid-request.
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
IDEMPOTENCY_LOCK_TIMEOUT = env.int("IDEMPOTENCY_LOCK_TIMEOUT", default=60)
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# ---------------------------------------------------------------- plans and quotas
# Limits per plan; None means unlimited. Staff are unlimited.
PLAN_LIMITS = {
    "FREE": {
        "runs_per_day": env.int("PLAN_FREE_RUNS_PER_DAY", default=0),
        "storage_bytes": env.int("PLAN_FREE_STORAGE_BYTES", default=0),
    },
    "PLUS": {
        "runs_per_day": env.int("PLAN_PLUS_RUNS_PER_DAY", default=200),
        "storage_bytes": env.int("PLAN_PLUS_STORAGE_BYTES", default=0),
    },
    "PREMIUM": {
        "runs_per_day": env.int("PLAN_PREMIUM_RUNS_PER_DAY", default=2000),
        "storage_bytes": env.int("PLAN_PREMIUM_STORAGE_BYTES", default=5 * 1024**3),
    },
}
INVITATION_TTL = env.int("INVITATION_TTL", default=7 * 24 * 3600)

# ---------------------------------------------------------------- files and uploads
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"  # never routed: downloads go through the authorized files/{id}/content/ endpoint
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATIC_URL = "/static/"
STORAGES = {
    "default": {
        "BACKEND": env.str("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
FILE_UPLOAD_MAX_SIZE = env.int("FILE_UPLOAD_MAX_SIZE", default=20 * 1024 * 1024)
FILE_ALLOWED_CONTENT_TYPES = env.list(
    "FILE_ALLOWED_CONTENT_TYPES",
    default=[
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/json",
        "application/pdf",
        "image/png",
        "image/jpeg",
    ],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Whole-request caps checked on Content-Length before anything reads the body (bazar/middleware.py, JSON 413):
# multipart requests may carry one upload plus its envelope, everything else the non-file cap.
REQUEST_MAX_BODY_SIZE = env.int("REQUEST_MAX_BODY_SIZE", default=DATA_UPLOAD_MAX_MEMORY_SIZE)
UPLOAD_MAX_BODY_SIZE = env.int("UPLOAD_MAX_BODY_SIZE", default=FILE_UPLOAD_MAX_SIZE + 1024 * 1024)

# ---------------------------------------------------------------- assistant engine
ASSISTANT_ENGINE = env.str("ASSISTANT_ENGINE", default="assistants.engines.local.LocalEngine")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=60.0)
# What a run gives the engine: the thread's latest messages, and at most this many characters of attached text files.
ASSISTANT_CONTEXT_MESSAGES = env.int("ASSISTANT_CONTEXT_MESSAGES", default=50)
ASSISTANT_FILE_TEXT_MAX_CHARS = env.int("ASSISTANT_FILE_TEXT_MAX_CHARS", default=100_000)

# ---------------------------------------------------------------- tasks and email
TASKS = {
    "default": {
        # The immediate backend runs tasks in-process; django_tasks_db.DatabaseBackend queues them
        # for `manage.py db_worker`.
        "BACKEND": env.str("TASKS_BACKEND", default="django.tasks.backends.immediate.ImmediateBackend"),
    }
}
# EMAIL_URL (smtp+tls://user:pass@host:587, consolemail://, …) becomes Django 6.1's MAILERS.
# Production default: SMTP on localhost, as Django's own; the console backend would print reset links to the log.
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
_email_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
    "timeout": 10,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _email_options.items() if v}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bazar <no-reply@bazar.local>")

# ---------------------------------------------------------------- security
# Secure by default when DEBUG is off; `manage.py check --deploy --fail-level WARNING` stays clean.
# Behind a proxy that terminates TLS: SECURE_PROXY_SSL=true, and the header it sets (X-Forwarded-Proto: https).
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + env.str("SECURE_PROXY_SSL_HEADER_NAME", default="X-Forwarded-Proto").upper().replace("-", "_"), "https")
    if env.bool("SECURE_PROXY_SSL", default=False)
    else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Container health checks speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Django's own Content-Security-Policy. The admin and the API docs (sidecar files, served from /static/) load
# only same-origin scripts; inline style attributes stay allowed for the admin widgets and Swagger UI.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "worker-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# CORS (django-cors-headers): only the API, only the origins in CORS_ALLOWED_ORIGINS. Tokens travel in the
# Authorization header, never in cookies, so credentials stay off.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

# ---------------------------------------------------------------- i18n
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- logging
# Every request gets an id (bazar.logging.request_log_middleware): the caller's X-Request-ID when it is a UUID (a
# proxy's, a client's), a fresh one otherwise. It is echoed in the response, carried by every log line, and by
# gunicorn's access line.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# json: one JSON object per line (production); text: readable lines (development). Both are redacted.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "bazar.logging.RequestContextFilter"}},
    "formatters": {
        "text": {"()": "bazar.logging.TextFormatter"},
        "json": {"()": "bazar.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers (console in DEBUG, mail_admins) with the one console handler.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # bazar.request writes the one line per request; Django would add a second one for every 4xx.
        "django.request": {"level": "ERROR"},
        # runserver's own access line repeats the request line.
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
