"""Idempotency-Key on POST: a retried request with the same key replays the first response and creates nothing twice.

Use it on any POST handler of a view, directly above the `def` (below `@action` / `@extend_schema`):

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    @idempotent
    def create(self, request, *args, **kwargs): ...

It also documents the header and its 409/422/503 answers in the OpenAPI schema.

Design. Records live in the shared cache (Redis in production), read and written through the "strict" alias so a
failure is seen rather than turned into a miss. `cache.add` (Redis SET NX) claims a key atomically across workers, so
of two concurrent duplicates exactly one runs; the other answers 409 until the first finishes, and the replay after.
The claim expires after IDEMPOTENCY_LOCK_TIMEOUT if its worker dies, the finished record after IDEMPOTENCY_KEY_TTL.
No table is needed: the uniqueness guard is the atomic claim, and the stored response is what a retry must see.
When the cache is down, a request that carries a key answers 503 instead of running unprotected: the client asked
for at-most-once and can retry later with the same key. Requests without the header never touch the cache here.
Keys are scoped per user; the fingerprint covers method, path, query and body (uploaded files by content), so the
same key with a different request answers 422 `idempotency_key_reused` (a malformed key: 422
`idempotency_key_invalid`). Only handler results below 500 are stored; an exception (a 4xx raised by validation,
a 5xx) releases the claim so a retry runs again.
"""

import functools
import hashlib
import json
import logging
import re

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.files.uploadedfile import UploadedFile
from django.db.models import TextChoices
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, like Stripe's and the IETF draft's keys
STORED_HEADERS = ("Location",)

KEY_INVALID = "idempotency_key_invalid"
KEY_REUSED = "idempotency_key_reused"
KEY_IN_PROGRESS = "idempotency_key_in_progress"
UNAVAILABLE = "idempotency_unavailable"


class IdempotencyKeyInvalid(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "An Idempotency-Key is 1 to 255 visible ASCII characters."
    default_code = KEY_INVALID


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = KEY_REUSED


class IdempotencyKeyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed. Retry shortly."
    default_code = KEY_IN_PROGRESS


class IdempotencyUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Idempotency keys cannot be honoured right now. Retry later with the same key."
    default_code = UNAVAILABLE
    wait = 5  # becomes Retry-After


def _store() -> BaseCache:
    return caches["strict" if "strict" in settings.CACHES else "default"]


def _record_key(user_pk, key: str) -> str:
    return f"idempotency:{user_pk}:{hashlib.sha256(key.encode()).hexdigest()}"


def _canonical(value):
    """A JSON-able stand-in for request data; uploaded files count by name, size and content."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict / MultiValueDict from form and multipart bodies
        return {key: [_canonical(item) for item in items] for key, items in sorted(value.lists())}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(request) -> str:
    body = json.dumps(_canonical(request.data), sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method}\n{request.get_full_path()}\n{body}".encode()).hexdigest()


def _jsonable(data):
    # What the client was sent: the API's renderer, read back.
    return None if data is None else json.loads(ORJSONRenderer().render(data))


def _claim(store: BaseCache, record_key: str, fingerprint: str) -> dict | None:
    """Claim the key (None) or return the record another request left under it."""
    started = {"state": "started", "fingerprint": fingerprint}
    for _ in range(3):  # the record may expire between add and get
        if store.add(record_key, started, timeout=settings.IDEMPOTENCY_LOCK_TIMEOUT):
            return None
        record = store.get(record_key)
        if isinstance(record, dict):
            return record
    raise IdempotencyUnavailable()


def idempotent_response(request, handler) -> Response:
    """Run `handler()` at most once per (user, Idempotency-Key); replay its response to retries."""
    key = request.headers.get(HEADER)
    user = getattr(request, "user", None)
    if key is None or request.method != "POST" or not (user and user.is_authenticated):
        return handler()
    if not KEY_PATTERN.match(key):
        raise IdempotencyKeyInvalid()
    fingerprint, record_key, store = request_fingerprint(request), _record_key(user.pk, key), _store()
    try:
        record = _claim(store, record_key, fingerprint)
    except IdempotencyUnavailable:
        raise
    except Exception as exc:
        logger.warning("idempotency: cache unavailable, refusing a keyed request", exc_info=True)
        raise IdempotencyUnavailable() from exc
    if record is not None:
        if record.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReused()
        if record.get("state") != "done":
            raise IdempotencyKeyInProgress()
        return Response(record["data"], status=record["status"], headers={**record["headers"], REPLAYED_HEADER: "true"})

    try:
        response = handler()
    except BaseException:
        _release(store, record_key)
        raise
    if response.status_code >= 500:
        _release(store, record_key)
        return response
    done = {
        "state": "done",
        "fingerprint": fingerprint,
        "status": response.status_code,
        "data": _jsonable(getattr(response, "data", None)),
        "headers": {name: response[name] for name in STORED_HEADERS if response.has_header(name)},
    }
    try:
        store.set(record_key, done, timeout=settings.IDEMPOTENCY_KEY_TTL)
    except Exception:
        # The write happened; only the replay is lost (the claim expires, a late retry would run again).
        logger.error("idempotency: could not store the response of a keyed request", exc_info=True)
    return response


def _release(store: BaseCache, record_key: str) -> None:
    try:
        store.delete(record_key)
    except Exception:
        logger.warning("idempotency: could not release a claim; it expires on its own", exc_info=True)


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe POST: the same key (per user) replays the first response instead of running again.",
)


def _error_response(name: str, codes: list[str], error_type: type[TextChoices]):
    error = type(
        f"{name}Error",
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=[(code, code) for code in codes]),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"{name}ErrorResponse",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=error_type.choices), "errors": error(many=True)},
    )


IDEMPOTENCY_ERROR_RESPONSES = {
    "409": _error_response("IdempotencyKeyInProgress", [KEY_IN_PROGRESS], ClientErrorEnum),
    "422": _error_response("IdempotencyKeyUnprocessable", [KEY_REUSED, KEY_INVALID], ClientErrorEnum),
    "503": _error_response("IdempotencyUnavailable", [UNAVAILABLE], ServerErrorEnum),
}


class _IdempotencyErrorsSchema:
    """Adds the header's own error answers to whatever the operation already documents."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction == "response":
            for status_code, serializer in IDEMPOTENCY_ERROR_RESPONSES.items():
                if status_code not in bodies:
                    bodies[status_code] = self._get_response_for_code(serializer, status_code)
        return bodies


def _document(func):
    func = extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(func)
    func.kwargs["schema"] = type("IdempotentSchema", (_IdempotencyErrorsSchema, func.kwargs["schema"]), {})
    return func


def idempotent(view_method):
    """Honour Idempotency-Key on this POST handler (create, post, or an @action)."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        return idempotent_response(request, lambda: view_method(self, request, *args, **kwargs))

    wrapper.__dict__.pop("kwargs", None)  # keep the wrapped function's schema untouched; stack on a copy
    if "kwargs" in getattr(view_method, "__dict__", {}):
        wrapper.kwargs = dict(view_method.kwargs)
    return _document(wrapper)
