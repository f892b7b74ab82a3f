"""Request body caps, answered in the one error format before anything reads the body."""

from django.conf import settings
from django.http import JsonResponse

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
