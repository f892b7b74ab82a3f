"""One error format everywhere: drf-standardized-errors, plus Django's own 404/500 and services' errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import exceptions, serializers
from rest_framework.serializers import as_serializer_error
from rest_framework_simplejwt import exceptions as jwt_exceptions


class ExceptionHandler(StandardizedExceptionHandler):
    """Services raise Django's ValidationError with a code; the API answers it as a 400 with that code."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=as_serializer_error(exc))
        if isinstance(exc, jwt_exceptions.DetailDictMixin):
            # simplejwt puts a dict ({detail, code, messages}) in `detail`; keep one error with its code.
            converted = exceptions.AuthenticationFailed(
                detail=str(exc.detail.get("detail", "")), code=str(exc.detail.get("code", "token_not_valid"))
            )
            converted.status_code, converted.auth_header = exc.status_code, getattr(exc, "auth_header", None)
            return converted
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


# OpenAPI: the error bodies of 401/403/429 as they really are. drf-standardized-errors' defaults list only DRF's
# generic codes; our refusals carry their own (DRF_STANDARDIZED_ERRORS["ERROR_SCHEMAS"] points here).
def _error_response_serializer(name: str, codes: str) -> type[serializers.Serializer]:
    error = type(
        f"{name}Error",
        (serializers.Serializer,),
        {
            "code": serializers.CharField(help_text=f"One of: {codes}."),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"{name}Response",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=ClientErrorEnum.choices), "errors": error(many=True)},
    )


UnauthorizedResponseSerializer = _error_response_serializer(
    "Unauthorized",
    "`not_authenticated`, `authentication_failed`, `token_not_valid` (bad, expired or blacklisted token), "
    "`token_revoked` (password changed, account deleted or token reuse detected), `user_inactive`, "
    "`account_blocked`, `invalid_credentials` (login)",
)
ForbiddenResponseSerializer = _error_response_serializer(
    "Forbidden",
    "`permission_denied`, `staff_required`, `superadmin_required`, `plan_upgrade_required`, "
    "`role_change_forbidden` and `superadmin_protected` (staff ADMINs), organization refusals (`org_role_required`, "
    "`role_grant_forbidden`, `member_protected`, `staff_only`), `account_blocked` and `email_not_verified` (login)",
)
TooManyRequestsResponseSerializer = _error_response_serializer(
    "TooManyRequests", "`throttled`, `account_locked` (login); the Retry-After header says when to try again"
)
RequestTooLargeResponseSerializer = _error_response_serializer(
    "RequestTooLarge", "`request_too_large` (any body over the request cap), `file_too_large` (uploads)"
)
