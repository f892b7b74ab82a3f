"""Structured logs: a request id on every line, one line per request, and no secret ever written.

Used by Django (settings.LOGGING) and by gunicorn (gunicorn.conf.py), so nothing here may need configured
Django settings at import time.
"""

import functools
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import LazyObject, empty
from pythonjsonlogger.orjson import OrjsonFormatter as BaseJsonFormatter

# No line we write names its source file, thread, process or asyncio task, so no record collects them: the
# logging HOWTO's "Optimization" settings. Each request's line cost 40 us of CPU before, 31 us after.
logging._srcfile = None  # no findCaller(): the stack walk for the file, line and function
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False
logging.logAsyncioTasks = False

REDACTED = "[REDACTED]"

# A key whose value is never logged, wherever it appears (extra fields, dicts, "key=value" text).
SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|cookie|api[-_]?key|credential|signature|csrf|session",
    re.IGNORECASE,
)
_KEY = r"[\w-]*(?:password|passwd|secret|token|authorization|api[-_]?key|credential|signature)[\w-]*"
_SCHEME = r"(?:(?i:bearer)|Basic)"  # HTTP auth schemes in front of a credential
_TEXT_PATTERNS = [
    # "Authorization: Bearer abc", "bearer abc", "Basic dXNlcjpwYXNz"
    (re.compile(rf"\b({_SCHEME})\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    # A JWT anywhere (header.payload.signature, base64url).
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), REDACTED),
    # password=…, "refresh_token": "…", 'new_password': '…', ?token=… in a query string.
    (
        re.compile(
            rf"""(?P<key>{_KEY})(?P<sep>["']?\s*[:=]\s*["']?)"""
            rf"""(?!{_SCHEME}\s|\[REDACTED)(?P<value>[^\s&"',;)}}\]]+)""",
            re.IGNORECASE,
        ),
        rf"\g<key>\g<sep>{REDACTED}",
    ),
]


# Every text pattern needs one of these words: a text without any (nearly every log value) is searched once, not
# once per pattern: formatting the request line took about 4x the CPU without this check.
_MAY_HOLD_SECRET = re.compile(
    r"(?i:bearer|pass(?:word|wd)|secret|token|authorization|api[-_]?key|credential|signature)|Basic|eyJ"
)
# The same words, for plain substring tests, which take half the regex's time (it tries every word at every
# position of the text). With one check per record (JsonFormatter.process_log_record), the request line's masking
# went from 16.9 to 4.4 us, and users/me from 2.72M to 2.55M instructions (scripts/bench/instructions.py).
_SECRET_WORDS_ANY_CASE = (
    "bearer",
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "apikey",
    "api-key",
    "api_key",
    "credential",
    "signature",
)
_SECRET_WORDS_EXACT_CASE = ("Basic", "eyJ")


def _may_hold_secret(text: str) -> bool:
    """Whether `text` holds one of _MAY_HOLD_SECRET's words: the same answer as that regex, found faster."""
    if not text.isascii():  # Unicode case folding (the regex's IGNORECASE) is more than str.lower()
        return _MAY_HOLD_SECRET.search(text) is not None
    # Plain loops: half the time of any() over a generator, on every line written.
    for word in _SECRET_WORDS_EXACT_CASE:
        if word in text:
            return True
    lowered = text.lower()
    for word in _SECRET_WORDS_ANY_CASE:  # noqa: SIM110 - the loop is the point (see above)
        if word in lowered:
            return True
    return False


def redact_text(text: str) -> str:
    """The text with bearer tokens, JWTs and sensitive key=value pairs masked."""
    if not _may_hold_secret(text):
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=1024)
def _sensitive_key(key: str) -> bool:
    return bool(SENSITIVE_KEY.search(key))


def redact(value: Any, key: str = "") -> Any:
    """A copy of a log value with sensitive keys masked and strings scrubbed, recursively."""
    if key and _sensitive_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact_text(str(value))


_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=256)
def _any_sensitive_key(keys: tuple) -> bool:
    # Per set of fields, not per field: a kind of line (the request line, say) has the same fields every time.
    return any(_sensitive_key(str(key)) for key in keys)


def _nothing_to_redact(data: Mapping) -> bool:
    """True when `redact` would return every value of `data` unchanged: scalar values, no sensitive key, and no
    secret word in any string. The strings are checked in one go, joined by a character no word holds."""
    if _any_sensitive_key(tuple(data)):
        return False
    for value in data.values():
        if not isinstance(value, _SCALARS):
            return False
    return not _may_hold_secret("\0".join(value for value in data.values() if isinstance(value, str)))


# ---------------------------------------------------------------- filters
class RequestContextFilter(logging.Filter):
    """Puts the current request id and `user_id` on every record, None outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        if not hasattr(record, "user_id"):
            record.user_id = None
        return True


class GunicornAccessFilter(logging.Filter):
    """Turns gunicorn's access-log atoms into the same fields the request line of Django carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, Mapping):
            # gunicorn's atoms dict answers "-" for anything missing, so index it rather than .get() it.
            request_id = atoms["{x-request-id}o"]
            record.request_id = None if request_id == "-" else request_id
            record.method = atoms["m"]
            record.path = atoms["U"]
            record.status = int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"]
            record.duration_ms = atoms["M"]
            record.remote_addr = atoms["h"]
        return True


# ---------------------------------------------------------------- formatters
class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, user_id, then any extra field.

    Every value goes through `redact`, so a secret passed by mistake is masked, not written.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    # (second, its text): the date and time are formatted once per second, not for each line.
    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC to the millisecond, as datetime.isoformat(timespec="milliseconds") writes it.
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        return f"{cached[1]}.{int(record.msecs):03d}+00:00"

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Django's own records carry the request object; its repr adds nothing the line lacks.
        log_data.pop("request", None)
        if _nothing_to_redact(log_data):
            return log_data
        return {key: redact(value, key) for key, value in log_data.items()}


class TextFormatter(logging.Formatter):
    """Readable lines for development, scrubbed like the JSON ones."""

    def __init__(self, fmt: str | None = None, *args, **kwargs):
        super().__init__(fmt or "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s", *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


# ---------------------------------------------------------------- the request line
request_logger = logging.getLogger("bazar.request")

REQUEST_ID_HEADER = "X-Request-ID"
# The id of the request being served, on every log line it writes (RequestContextFilter); None outside a request.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def _request_id_for(request) -> str:
    """The caller's X-Request-ID when it is a UUID (a proxy's, a client's), so that their logs and ours line up;
    a fresh one otherwise: anything else could forge log lines or carry a secret into them."""
    given = request.META.get("HTTP_X_REQUEST_ID")
    if given:
        try:
            uuid.UUID(given)
        except ValueError:
            pass
        else:
            return given
    return uuid.uuid4().hex


def _user_id(request) -> str | None:
    """The authenticated user's id if the request already resolved it; never triggers a query."""
    # DRF's authentication stores the user on the Django request; the session user stays a lazy object
    # until something asks for it, and logging must not be what makes it hit the database.
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _log_request(request, response, started: float) -> None:
    status = response.status_code
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    # request.path, never the query string: tokens travel there in some clients.
    request_logger.log(
        level,
        "%s %s %s %.0fms",
        request.method,
        request.path,
        status,
        duration_ms,
        extra={
            "request_id": request_id.get(),
            "user_id": _user_id(request),
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
        },
    )


@sync_and_async_middleware
def request_log_middleware(get_response: Callable) -> Callable:
    """Gives the request its id (echoed in X-Request-ID, and in gunicorn's access line) and logs exactly one line
    for it; goes first in MIDDLEWARE so redirects and errors are counted. The id belongs to this request only: the
    thread's later lines (a worker's, a timer's) go without it."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            started = time.perf_counter()
            token = request_id.set(_request_id_for(request))
            try:
                response = await get_response(request)
                response[REQUEST_ID_HEADER] = request_id.get()
                _log_request(request, response, started)
            finally:
                request_id.reset(token)
            return response

    else:

        def middleware(request):
            started = time.perf_counter()
            token = request_id.set(_request_id_for(request))
            try:
                response = get_response(request)
                response[REQUEST_ID_HEADER] = request_id.get()
                _log_request(request, response, started)
            finally:
                request_id.reset(token)
            return response

    return middleware
