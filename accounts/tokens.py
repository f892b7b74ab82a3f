"""Tokens: JWT pairs carrying the user's claims, and single-use signed tokens for email links."""

import uuid

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import errors
from accounts.caching import cached_user
from accounts.models import User

VERSION_CLAIM = "ver"  # the user's token_version when the token was issued; tokens without it are refused
VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"


def token_pair_for(user: User) -> dict[str, str]:
    """A fresh refresh/access pair whose claims reflect the user as stored now."""
    refresh = RefreshToken.for_user(user)
    for claim, value in {
        "email": user.email,
        "role": user.role,
        "plan": user.plan,
        VERSION_CLAIM: user.token_version,
    }.items():
        refresh[claim] = value
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _fingerprint(user: User, purpose: str, secret: str | None = None) -> str:
    # The state a token is bound to: once it changes (email verified, password set) the token is spent.
    state = {
        VERIFY_EMAIL: f"{user.email}|{user.is_verified}",
        RESET_PASSWORD: f"{user.password}|{user.token_version}|{user.is_active}",
    }[purpose]
    return salted_hmac(f"bazar.accounts.{purpose}", state, secret=secret, algorithm="sha256").hexdigest()[:32]


def _signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"bazar.accounts.{purpose}", sep=".")


def make_email_token(user: User, purpose: str) -> str:
    """An opaque, URL-safe, expiring, single-use token for an email link."""
    return _signer(purpose).sign_object({"u": str(user.pk), "f": _fingerprint(user, purpose)}, compress=True)


def read_email_token(token: str, purpose: str, max_age: int) -> User:
    """The user a token was made for, or ValidationError (token_expired / token_invalid)."""
    try:
        payload = _signer(purpose).unsign_object(str(token), max_age=max_age)
    except signing.SignatureExpired as exc:
        raise errors.token_expired() from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise errors.token_invalid() from exc
    if not isinstance(payload, dict):
        raise errors.token_invalid()
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first() if is_uuid(payload.get("u")) else None
    # Links mailed before a SECRET_KEY rotation keep working while the old key is in SECRET_KEY_FALLBACKS.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if user is None or not any(
        constant_time_compare(payload.get("f", ""), _fingerprint(user, purpose, key)) for key in secrets
    ):
        raise errors.token_invalid()
    return user


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def refresh_rotate(raw_refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new pair and blacklist the old one. Reusing a rotated-out token is
    treated as theft: every token of that user is revoked."""
    try:
        old = RefreshToken(raw_refresh)  # signature, expiry, issuer, audience, type and blacklist
    except TokenError as exc:
        _revoke_all_on_reuse(raw_refresh)
        raise errors.token_not_valid() from exc
    user = active_user(old.get(api_settings.USER_ID_CLAIM), token_version_of(old))
    with transaction.atomic():
        _, spent_now = old.blacklist()
    if not spent_now:  # a concurrent refresh spent the same token first
        raise errors.token_not_valid()
    return token_pair_for(user)


def _revoke_all_on_reuse(raw_refresh: str) -> None:
    """A genuine, unexpired refresh token of the current generation that is already blacklisted was rotated
    out (or logged out) before: someone replays it. Older generations were revoked already; replaying them
    must not let an attacker keep logging the user out."""
    from accounts.services import tokens_revoke_all

    try:
        payload = token_backend.decode(raw_refresh, verify=True)
    except TokenBackendError:
        return
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        return
    if not BlacklistedToken.objects.filter(token__jti=payload.get(api_settings.JTI_CLAIM)).exists():
        return
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id).first() if is_uuid(user_id) else None
    if user is not None and payload.get(VERSION_CLAIM) == user.token_version:
        tokens_revoke_all(user=user)


def token_version_of(token) -> int:
    """The token's `ver` claim. Tokens issued before the claim existed (or forged without it) are not valid:
    they could not be revoked by a password change or "log out everywhere"."""
    version = token.get(VERSION_CLAIM)
    if type(version) is not int:
        raise errors.token_not_valid()
    return version


def active_user(user_id, version: int) -> User:
    """The user a valid token names, refused when deleted, blocked or revoked since the token was issued.
    From the cache when the row has not changed since (accounts/caching.py), else one indexed query."""
    return active_user_counted(user_id, version, counter=None)[0]


def active_user_counted(user_id, version: int, counter: tuple[str, int] | None) -> tuple[User, int | None]:
    """`active_user`, and the request counter (key, lifetime) incremented in the same cache round trip."""
    user = count = None
    if is_uuid(user_id):
        pk = uuid.UUID(str(user_id))
        # Without the password hash, so that no hash sits in the cache; it loads on demand (changing a password).
        user, count = cached_user(pk, lambda: User.objects.defer("password").filter(pk=pk).first(), counter)
    if user is None or not user.is_active:
        raise exceptions.AuthenticationFailed("User not found or deactivated.", code=errors.USER_INACTIVE)
    if user.is_blocked:
        raise exceptions.AuthenticationFailed(errors.AccountBlocked.default_detail, code=errors.ACCOUNT_BLOCKED)
    if version != user.token_version:
        raise exceptions.AuthenticationFailed("This token has been revoked.", code=errors.TOKEN_REVOKED)
    return user, count
