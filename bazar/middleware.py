"""Request body caps answered in the one error format, a retry for requests whose database connection died, the
stretch of middleware API requests skip, a Content-Security-Policy header built once, and CORS with a short way
for requests without an Origin."""

import logging
import threading

from corsheaders import middleware as cors
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.middleware import csp
from django.utils.cache import patch_vary_headers
from django.utils.csp import CSP, build_policy

logger = logging.getLogger(__name__)

REQUEST_TOO_LARGE = "request_too_large"
REQUEST_TOO_LARGE_MESSAGE = "The request body is larger than the {limit} bytes this endpoint accepts."


def body_limit_for(content_type: str) -> int:
    """Multipart requests may carry an upload; every other body gets the non-file cap."""
    if content_type.lower().startswith("multipart/form-data"):
        return settings.UPLOAD_MAX_BODY_SIZE
    return settings.REQUEST_MAX_BODY_SIZE


class RequestSizeLimitMiddleware:
    """Refuse bodies over the cap with a JSON 413. Django's own limit (RequestDataTooBig) would only fire once a
    parser reads the body, and DRF answers it outside the error format; checking Content-Length first also spares
    the server from reading what it will refuse. Bodies without Content-Length are read as empty by Django's WSGI
    handler, so the header is the whole story."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django treats an unreadable Content-Length as an empty body too
        limit = body_limit_for(request.META.get("CONTENT_TYPE", ""))
        if length > limit:
            return JsonResponse(
                {
                    "type": "client_error",
                    "errors": [
                        {
                            "code": REQUEST_TOO_LARGE,
                            "detail": REQUEST_TOO_LARGE_MESSAGE.format(limit=limit),
                            "attr": None,
                        }
                    ],
                },
                status=413,
            )
        return self.get_response(request)


READ_STATEMENTS = frozenset({"SELECT", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "BEGIN"})


class _WriteTracker:
    """An execute wrapper that knows whether a request may have changed the database, and whether its connection
    died under it. Writes inside a transaction that was still open when the connection died were rolled back by
    the server; anything else (autocommitted writes, a transaction that ended, a failed COMMIT) may have stuck."""

    def __init__(self, connection):
        self.connection, self.pending, self.unsafe, self.lost = connection, False, False, False

    def _in_transaction(self) -> bool:
        from psycopg import pq

        raw = self.connection.connection
        return raw is not None and raw.info.transaction_status != pq.TransactionStatus.IDLE

    def __call__(self, execute, sql, params, many, context):
        if self.pending and not self._in_transaction():
            self.unsafe, self.pending = True, False  # the transaction holding our writes ended: committed or not
        try:
            result = execute(sql, params, many, context)
        except (OperationalError, InterfaceError):
            raw = self.connection.connection
            self.lost = self.lost or raw is None or raw.closed or raw.broken
            raise
        words = str(sql).lstrip().split(None, 1)
        if not words or words[0].upper() not in READ_STATEMENTS:
            if self._in_transaction():
                self.pending = True
            else:
                self.unsafe = True
        return result


class DatabaseReconnectMiddleware:
    """Run a request again, once, when its PostgreSQL connection died under it (a restart, a failover) and nothing it
    did can have been kept: the retry waits in the connection pool until the server is back. Requests that wrote
    outside a still-open transaction, or whose body cannot be replayed (multipart), get their 500 as before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if connection.vendor != "postgresql":
            return self.get_response(request)
        replayable = not request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/")
        if replayable:
            request.body  # noqa: B018 (read and keep it, capped by RequestSizeLimitMiddleware, to replay it)
        tracker = _WriteTracker(connection)
        with connection.execute_wrapper(tracker):
            response = self.get_response(request)
        if response.status_code < 500 or not tracker.lost or tracker.unsafe or not replayable:
            return response
        logger.warning("database connection lost mid-request; running it again", extra={"path": request.path})
        connection.close()  # hand the dead connection back; the pool replaces it once the server answers
        return self.get_response(request)


# ---------------------------------------------------------------- the stretch of MIDDLEWARE the API skips
API_PREFIX = "/api/"

# Where API requests rejoin the chain, left by `api_rejoins_here` for the APISkipsFromHere built next. Django builds
# the chain from its last middleware to its first, in one thread; per thread, so that two handlers built at once
# (ASGI, test clients) cannot take each other's.
_rejoin = threading.local()
_STRETCH_START, _STRETCH_END = f"{__name__}.APISkipsFromHere", f"{__name__}.api_rejoins_here"


def _check_the_stretch() -> None:
    """Both marks, in this order, in the MIDDLEWARE being built: checked by each mark, so that neither can leave the
    other a get_response from another chain."""
    middleware = list(settings.MIDDLEWARE)
    if not (_STRETCH_START in middleware and _STRETCH_END in middleware[middleware.index(_STRETCH_START) :]):
        raise ImproperlyConfigured(f"{_STRETCH_END} must follow {_STRETCH_START} in MIDDLEWARE")


def api_rejoins_here(get_response):
    """Marks the end of the stretch APISkipsFromHere opens: it keeps the rest of the chain for API requests and then
    takes itself out of the chain (MiddlewareNotUsed), so no request pays for the mark."""
    _check_the_stretch()
    _rejoin.get_response = get_response
    raise MiddlewareNotUsed


class APISkipsFromHere:
    """API requests go from here straight to the middleware after `api_rejoins_here`. The middleware between them
    (sessions, CSRF, the session user, flash messages) serve the admin only: the API is stateless, with bearer tokens
    and never cookies, so it skips them (3.7% of a users/me request's instructions). They stay Django's own
    classes, named in MIDDLEWARE, because `check --deploy` looks for them by name before inspecting their settings."""

    def __init__(self, get_response):
        _check_the_stretch()
        self.get_response = get_response
        self.api_response = _rejoin.__dict__.pop("get_response")

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            return self.api_response(request)
        return self.get_response(request)


# ---------------------------------------------------------------- Content-Security-Policy
def _names_nonce(config: dict) -> bool:
    return any(
        value == CSP.NONCE or (isinstance(value, list | tuple | set) and CSP.NONCE in value)
        for value in config.values()
    )


class ContentSecurityPolicyMiddleware(csp.ContentSecurityPolicyMiddleware):
    """Django's, except that the settings' policies are built into their headers once, not for every response: it
    rebuilt the same strings each time (with its checks, 4% of a users/me request's instructions, measured with
    scripts/bench/instructions.py). When a settings policy names CSP.NONCE (it differs per response), and for a
    view's own policy (csp_override), Django's middleware does all of it, as before."""

    # (SECURE_CSP, SECURE_CSP_REPORT_ONLY, their headers or None): rebuilt when the settings are replaced.
    _built: tuple = (None, None, None)

    def _headers(self) -> list[tuple[str, str]] | None:
        enforce, report_only = settings.SECURE_CSP, settings.SECURE_CSP_REPORT_ONLY
        built = self._built
        if built[0] is not enforce or built[1] is not report_only:
            policies = [(CSP.HEADER_ENFORCE, enforce), (CSP.HEADER_REPORT_ONLY, report_only)]
            policies = [(header, config) for header, config in policies if config]
            headers = None
            if not any(_names_nonce(config) for _, config in policies):
                # str(): the names are enum members, which WSGI servers (wsgiref) refuse as header names.
                headers = [(str(header), build_policy(config)) for header, config in policies]
            built = self._built = (enforce, report_only, headers)
        return built[2]

    def process_response(self, request, response):
        headers = self._headers()
        if headers is None or hasattr(response, "_csp_config") or hasattr(response, "_csp_ro_config"):
            return super().process_response(request, response)
        for header, policy in headers:
            if header not in response:  # a view's own header stays, as with Django's
                response.headers[header] = policy
        return response


# ---------------------------------------------------------------- CORS
class CorsMiddleware(cors.CorsMiddleware):
    """django-cors-headers', with a shorter way for the requests no browser sent cross-origin: without an Origin
    header there is no CORS header to add, only `Vary: Origin` (which the library adds to every response of the URLs
    it covers, so that a cache keeps apart the answers to different origins). The library's way parses every request
    header first (request.headers); requests with an Origin, and preflights, still take it."""

    def __call__(self, request):
        meta = request.META
        if (
            "HTTP_ORIGIN" in meta
            or self.async_mode
            or (request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in meta)
        ):
            return super().__call__(request)
        response = self.get_response(request)
        if self.is_enabled(request):
            patch_vary_headers(response, ("origin",))
        return response
