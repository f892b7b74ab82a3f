"""One error format everywhere: drf-standardized-errors, plus Django's own 404/500 and services' errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error


class ExceptionHandler(StandardizedExceptionHandler):
    """Services raise Django's ValidationError with a code; the API answers it as a 400 with that code."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=as_serializer_error(exc))
        return super().convert_known_exceptions(exc)


def _error(status: int, error_type: str, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request, exception=None) -> JsonResponse:
    return _error(404, "client_error", "not_found", "Not found.")


def server_error(request) -> JsonResponse:
    return _error(500, "server_error", "error", "A server error occurred.")


def bad_request(request, exception=None) -> JsonResponse:
    return _error(400, "client_error", "bad_request", "Bad request.")


def permission_denied(request, exception=None) -> JsonResponse:
    return _error(403, "client_error", "permission_denied", "You do not have permission to perform this action.")
