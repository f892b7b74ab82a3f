"""Access and refresh tokens: claims, issuer/audience, revocation, rotation, reuse detection, logout."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import authentication, errors, services
from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import error_codes, login

pytestmark = pytest.mark.django_db

ME_URL = reverse("api:user-me")
REFRESH_URL = reverse("api:auth:refresh")
LOGOUT_URL = reverse("api:auth:logout")


def _get_me(access: str):
    return APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {access}")


def _claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


def _forge(claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def test_access_token_authenticates(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    assert _get_me(pair["access"]).status_code == 200


def test_request_without_token_is_refused(api_client, db):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert error_codes(response) == ["not_authenticated"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Bearer a b", "Token abc", "Basic Zm9vOmJhcg=="])
def test_malformed_authorization_header_is_refused(db, header):
    response = APIClient().get(ME_URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_blocked_users_issued_access_token_stops_working_at_once(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    assert _get_me(pair["access"]).status_code == 200

    services.user_block(user=free_user, reason="abuse")

    response = _get_me(pair["access"])
    assert response.status_code == 401
    assert error_codes(response) == [errors.ACCOUNT_BLOCKED]


def test_unblocked_users_token_works_again(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    services.user_block(user=free_user)

    services.user_unblock(user=free_user)

    assert _get_me(pair["access"]).status_code == 200


def test_deleted_users_token_stops_working(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")

    assert client.delete(ME_URL).status_code == 204

    assert client.get(ME_URL).status_code == 401
    free_user.refresh_from_db()
    assert free_user.is_active is False
    assert not free_user.has_usable_password()
    refresh = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]})
    assert refresh.status_code == 401


def test_access_token_claims_are_checked_against_the_database(api_client):
    """Role and plan come from the stored user, not from the (older) token."""
    user = UserFactory(role=Role.ADMIN, plan=Plan.FREE)
    access = login(api_client, user.email, PASSWORD)["access"]
    services.user_set_role(user=user, role=Role.USER)
    services.user_set_plan(user=user, plan=Plan.PREMIUM)

    response = _get_me(access)

    assert response.status_code == 200
    assert (response.json()["role"], response.json()["plan"]) == ("USER", "PREMIUM")
    other = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get(reverse("api:user-detail", args=[other.pk])).status_code == 404


def test_token_with_wrong_audience_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    response = _get_me(_forge({**claims, "aud": "someone-else"}))

    assert response.status_code == 401
    assert error_codes(response) == ["token_not_valid"]


def test_token_with_wrong_issuer_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    assert _get_me(_forge({**claims, "iss": "evil"})).status_code == 401


def test_token_without_audience_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])
    del claims["aud"]

    assert _get_me(_forge(claims)).status_code == 401


def test_token_signed_with_another_key_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    assert _get_me(_forge(claims, key="another-key-that-is-long-enough-for-hs256-0123456789")).status_code == 401


def test_unsigned_token_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])
    unsigned = jwt.encode(claims, key=None, algorithm="none")

    assert _get_me(unsigned).status_code == 401


def test_refresh_token_is_not_an_access_token(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    assert _get_me(pair["refresh"]).status_code == 401


def test_expired_access_token_is_refused(api_client, free_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    pair = login(api_client, free_user.email, PASSWORD)

    time_machine.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=10))

    assert _get_me(pair["access"]).status_code == 401


def test_access_token_accepted_before_is_refused_once_expired(api_client, free_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    access = login(api_client, free_user.email, PASSWORD)["access"]
    accepted = _get_me(access).status_code  # its verified claims are now remembered by this process

    time_machine.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=10))
    response = _get_me(access)

    assert accepted == 200
    assert response.status_code == 401
    assert error_codes(response) == ["token_not_valid"]


class CountingBackend:
    """simplejwt's token backend, counting the signature checks."""

    def __init__(self, inner):
        self.inner, self.verified = inner, 0

    def decode(self, token, verify=True):
        self.verified += verify
        return self.inner.decode(token, verify=verify)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_an_access_token_signature_is_checked_once_per_process(api_client, free_user, monkeypatch):
    counting = CountingBackend(authentication.token_backend)
    monkeypatch.setattr(authentication, "token_backend", counting)
    access = login(api_client, free_user.email, PASSWORD)["access"]

    statuses = [_get_me(access).status_code for _ in range(3)]

    assert statuses == [200] * 3
    assert counting.verified == 1


def test_a_token_one_character_off_a_verified_one_is_checked_and_refused(api_client, free_user):
    access = login(api_client, free_user.email, PASSWORD)["access"]
    assert _get_me(access).status_code == 200
    header, payload, signature = access.split(".")
    tampered_signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
    tampered_claims = _forge({**_claims(access), "role": Role.SUPERADMIN}, key="another-key-" * 4).split(".")[1]

    for forged in (f"{header}.{payload}.{tampered_signature}", f"{header}.{tampered_claims}.{signature}"):
        response = _get_me(forged)
        assert response.status_code == 401
        assert error_codes(response) == ["token_not_valid"]


def test_token_for_unknown_user_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    response = _get_me(_forge({**claims, "user_id": "0190a000-0000-7000-8000-000000000000"}))

    assert response.status_code == 401


def test_token_with_malformed_user_id_is_refused(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    assert _get_me(_forge({**claims, "user_id": "not-a-uuid"})).status_code == 401


# ---------------------------------------------------------------- refresh


def test_access_token_without_version_claim_is_refused(api_client, free_user):
    # Tokens issued before the `ver` claim existed (or without it) could never be revoked.
    legacy = RefreshToken.for_user(free_user)

    response = _get_me(str(legacy.access_token))

    assert response.status_code == 401
    assert error_codes(response) == [errors.TOKEN_NOT_VALID]


@pytest.mark.parametrize("version", [None, "0", True, 0.0])
def test_access_token_with_malformed_version_claim_is_refused(api_client, free_user, version):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["access"])

    response = _get_me(_forge({**claims, "ver": version}))

    assert response.status_code == 401
    assert error_codes(response) == [errors.TOKEN_NOT_VALID]


def test_refresh_token_without_version_claim_is_refused(api_client, free_user):
    legacy = RefreshToken.for_user(free_user)  # stored as outstanding, like every token simplejwt issues

    response = api_client.post(REFRESH_URL, {"refresh": str(legacy)})

    assert response.status_code == 401
    assert error_codes(response) == [errors.TOKEN_NOT_VALID]
    assert not BlacklistedToken.objects.filter(token__jti=legacy["jti"]).exists()


def test_refresh_rotates_the_pair(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    response = api_client.post(REFRESH_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 200, response.json()
    new = response.json()
    assert set(new) == {"access", "refresh"}
    assert new["refresh"] != pair["refresh"]
    assert _get_me(new["access"]).status_code == 200
    assert _claims(new["access"])["email"] == free_user.email
    assert BlacklistedToken.objects.filter(token__jti=_claims(pair["refresh"])["jti"]).exists()


def test_refreshed_access_token_carries_current_plan(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    services.user_set_plan(user=free_user, plan=Plan.PLUS)

    new = api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}).json()

    assert _claims(new["access"])["plan"] == "PLUS"


def test_refresh_reuse_revokes_every_token_of_the_user(api_client, free_user):
    first = login(api_client, free_user.email, PASSWORD)
    other_session = login(api_client, free_user.email, PASSWORD)
    rotated = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}).json()

    reuse = api_client.post(REFRESH_URL, {"refresh": first["refresh"]})

    assert reuse.status_code == 401
    assert error_codes(reuse) == ["token_not_valid"]
    # The thief's and the victim's tokens are all dead now: both sessions log in again.
    assert api_client.post(REFRESH_URL, {"refresh": rotated["refresh"]}).status_code == 401
    assert api_client.post(REFRESH_URL, {"refresh": other_session["refresh"]}).status_code == 401
    assert _get_me(rotated["access"]).status_code == 401
    assert _get_me(other_session["access"]).status_code == 401
    assert login(api_client, free_user.email, PASSWORD)["access"]


def test_refresh_reuse_leaves_other_users_alone(api_client, free_user, plus_user):
    mine = login(api_client, free_user.email, PASSWORD)
    theirs = login(api_client, plus_user.email, PASSWORD)
    api_client.post(REFRESH_URL, {"refresh": mine["refresh"]})

    api_client.post(REFRESH_URL, {"refresh": mine["refresh"]})

    assert _get_me(theirs["access"]).status_code == 200
    assert api_client.post(REFRESH_URL, {"refresh": theirs["refresh"]}).status_code == 200


def test_refresh_refused_for_blocked_user(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    services.user_block(user=free_user)

    response = api_client.post(REFRESH_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 401
    assert error_codes(response) == [errors.ACCOUNT_BLOCKED]


def test_refresh_refuses_an_access_token(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    response = api_client.post(REFRESH_URL, {"refresh": pair["access"]})

    assert response.status_code == 401
    assert error_codes(response) == ["token_not_valid"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 2000])
def test_refresh_refuses_garbage(api_client, db, token):
    response = api_client.post(REFRESH_URL, {"refresh": token})

    assert response.status_code == 401
    assert error_codes(response) == ["token_not_valid"]


def test_refresh_refuses_missing_field(api_client, db):
    response = api_client.post(REFRESH_URL, {})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "refresh"


def test_refresh_refuses_expired_token(api_client, free_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    pair = login(api_client, free_user.email, PASSWORD)

    time_machine.shift(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(seconds=10))

    assert api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}).status_code == 401


def test_refresh_refuses_token_with_wrong_audience(api_client, free_user):
    claims = _claims(login(api_client, free_user.email, PASSWORD)["refresh"])

    response = api_client.post(REFRESH_URL, {"refresh": _forge({**claims, "aud": "someone-else"})})

    assert response.status_code == 401


# ---------------------------------------------------------------- logout


def test_logout_blacklists_the_refresh_token(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    response = api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 204
    assert response.content == b""
    assert BlacklistedToken.objects.filter(token__jti=_claims(pair["refresh"])["jti"]).exists()
    assert api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}).status_code == 401


def test_logout_twice_is_refused(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)
    api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]})

    response = api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 401
    assert error_codes(response) == ["token_not_valid"]


def test_logout_leaves_other_sessions_alone(api_client, free_user):
    first = login(api_client, free_user.email, PASSWORD)
    second = login(api_client, free_user.email, PASSWORD)

    api_client.post(LOGOUT_URL, {"refresh": first["refresh"]})

    assert api_client.post(REFRESH_URL, {"refresh": second["refresh"]}).status_code == 200


@pytest.mark.parametrize("token", ["garbage", ""])
def test_logout_refuses_garbage(api_client, db, token):
    response = api_client.post(LOGOUT_URL, {"refresh": token})

    assert response.status_code in (400, 401)
    assert response.json()["errors"]


def test_logout_refuses_an_access_token(api_client, free_user):
    pair = login(api_client, free_user.email, PASSWORD)

    response = api_client.post(LOGOUT_URL, {"refresh": pair["access"]})

    assert response.status_code == 401
    assert not BlacklistedToken.objects.exists()


def test_tokens_revoke_all_blacklists_outstanding_refresh_tokens(api_client, free_user):
    login(api_client, free_user.email, PASSWORD)
    login(api_client, free_user.email, PASSWORD)

    services.tokens_revoke_all(user=free_user)

    outstanding = OutstandingToken.objects.filter(user=free_user)
    assert outstanding.count() == 2
    assert BlacklistedToken.objects.filter(token__in=outstanding).count() == 2
