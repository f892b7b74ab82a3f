"""Error codes and messages of the accounts app, as constants the tests assert on."""

from rest_framework import exceptions, status

INVALID_CREDENTIALS = "invalid_credentials"
ACCOUNT_BLOCKED = "account_blocked"
EMAIL_NOT_VERIFIED = "email_not_verified"
EMAIL_TAKEN = "email_taken"
TOKEN_INVALID = "token_invalid"
TOKEN_EXPIRED = "token_expired"
TOKEN_REVOKED = "token_revoked"
TOKEN_NOT_VALID = "token_not_valid"  # simplejwt's code for a bad JWT, kept for every JWT refusal
USER_INACTIVE = "user_inactive"
WRONG_PASSWORD = "wrong_password"
ROLE_CHANGE_FORBIDDEN = "role_change_forbidden"
SUPERADMIN_PROTECTED = "superadmin_protected"
ACCOUNT_LOCKED = "account_locked"
LAST_SUPERADMIN = "last_superadmin"
# Codes of Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), for the OpenAPI schema.
PASSWORD_CODES = ["password_too_short", "password_too_common", "password_entirely_numeric", "password_too_similar"]


class AccountBlocked(exceptions.PermissionDenied):
    default_detail = "This account is blocked."
    default_code = ACCOUNT_BLOCKED


class EmailNotVerified(exceptions.PermissionDenied):
    default_detail = "Verify your email address before logging in."
    default_code = EMAIL_NOT_VERIFIED


class RoleChangeForbidden(exceptions.PermissionDenied):
    default_detail = "Only a superadmin may change roles."
    default_code = ROLE_CHANGE_FORBIDDEN


class SuperadminProtected(exceptions.PermissionDenied):
    default_detail = "Only a superadmin may change a superadmin account."
    default_code = SUPERADMIN_PROTECTED


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_detail = "Email or password is incorrect."
    default_code = INVALID_CREDENTIALS


class AccountLocked(exceptions.Throttled):
    default_detail = "Too many failed logins. Try again later."
    default_code = ACCOUNT_LOCKED
    status_code = status.HTTP_429_TOO_MANY_REQUESTS


def token_invalid() -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {"token": ["This token is invalid or has already been used."]}, code=TOKEN_INVALID
    )


def token_expired() -> exceptions.ValidationError:
    return exceptions.ValidationError({"token": ["This token has expired."]}, code=TOKEN_EXPIRED)


def token_not_valid() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("Token is invalid or expired.", code=TOKEN_NOT_VALID)
