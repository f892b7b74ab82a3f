"""Forgot, reset and change password: one answer for every email, single-use expiring links, revocation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import errors, services, tokens
from accounts.tests.factories import PASSWORD
from accounts.tests.utils import FRONTEND_URL, bearer, error_attrs, error_codes, login, mails_to, token_from_mail

pytestmark = pytest.mark.django_db

FORGOT_URL = reverse("api:auth:forgot-password")
RESET_URL = reverse("api:auth:reset-password")
CHANGE_URL = reverse("api:auth:change-password")
REFRESH_URL = reverse("api:auth:refresh")
ME_URL = reverse("api:user-me")
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _reset_token(client, email: str) -> str:
    client.post(FORGOT_URL, {"email": email})
    [message] = mails_to(email)
    return token_from_mail(message, "/reset-password")


def _me(access: str):
    return bearer(APIClient(), access).get(ME_URL)


# ---------------------------------------------------------------- forgot-password


def test_forgot_password_answers_identically_for_known_and_unknown_emails(api_client, free_user):
    known = api_client.post(FORGOT_URL, {"email": free_user.email.upper()})
    unknown = api_client.post(FORGOT_URL, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    [message] = mail.outbox
    assert message.to == [free_user.email]
    assert f"{FRONTEND_URL}/reset-password?token=" in message.body
    assert token_from_mail(message, "/reset-password")


@pytest.mark.parametrize("state", ["blocked", "deleted"])
def test_forgot_password_sends_nothing_to_blocked_or_deleted_account(api_client, free_user, state):
    if state == "blocked":
        services.user_block(user=free_user)
    else:
        services.user_deactivate(user=free_user)

    response = api_client.post(FORGOT_URL, {"email": free_user.email})

    assert response.status_code == 202
    assert mail.outbox == []


def test_forgot_password_refuses_invalid_email(api_client, db):
    response = api_client.post(FORGOT_URL, {"email": "nope"})

    assert response.status_code == 400
    assert error_attrs(response) == {"email": "invalid"}


# ---------------------------------------------------------------- reset-password


def test_reset_password_sets_the_new_password(api_client, free_user):
    token = _reset_token(api_client, free_user.email)

    response = api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 200, response.json()
    free_user.refresh_from_db()
    assert free_user.check_password(NEW_PASSWORD)
    assert login(api_client, free_user.email, NEW_PASSWORD)["access"]
    wrong = api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": PASSWORD})
    assert wrong.status_code == 401


def test_reset_password_verifies_the_email(api_client, unverified_user):
    token = _reset_token(api_client, unverified_user.email)

    assert api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 200

    unverified_user.refresh_from_db()
    assert unverified_user.is_verified


def test_reset_password_refuses_reused_token(api_client, free_user):
    token = _reset_token(api_client, free_user.email)
    api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    response = api_client.post(RESET_URL, {"token": token, "password": "yet-another-passphrase-7"})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}
    free_user.refresh_from_db()
    assert free_user.check_password(NEW_PASSWORD)


def test_reset_password_token_is_spent_by_a_password_change(api_client, free_user):
    token = _reset_token(api_client, free_user.email)
    services.password_change(user=free_user, current_password=PASSWORD, new_password=NEW_PASSWORD)

    response = api_client.post(RESET_URL, {"token": token, "password": "yet-another-passphrase-7"})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}


def test_reset_password_refuses_expired_token(api_client, free_user, settings, time_machine):
    settings.PASSWORD_RESET_TIMEOUT = 900
    time_machine.move_to(timezone.now(), tick=False)
    token = _reset_token(api_client, free_user.email)

    time_machine.shift(timedelta(seconds=901))
    response = api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_EXPIRED}
    free_user.refresh_from_db()
    assert free_user.check_password(PASSWORD)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 500])
def test_reset_password_refuses_garbage_token(api_client, db, token):
    response = api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}


def test_reset_password_refuses_verification_token(api_client, free_user):
    token = tokens.make_email_token(free_user, tokens.VERIFY_EMAIL)

    response = api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}


@pytest.mark.parametrize("password", ["short", "12345678901", "password"])
def test_reset_password_refuses_weak_password_and_keeps_the_token(api_client, free_user, password):
    token = _reset_token(api_client, free_user.email)

    response = api_client.post(RESET_URL, {"token": token, "password": password})

    assert response.status_code == 400
    assert set(error_attrs(response)) == {"password"}
    free_user.refresh_from_db()
    assert free_user.check_password(PASSWORD)
    assert api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 200


def test_reset_password_revokes_outstanding_tokens(api_client, free_user):
    session = login(api_client, free_user.email, PASSWORD)
    token = _reset_token(api_client, free_user.email)

    api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert api_client.post(REFRESH_URL, {"refresh": session["refresh"]}).status_code == 401
    response = _me(session["access"])
    assert response.status_code == 401
    assert error_codes(response) == [errors.TOKEN_REVOKED]


def test_reset_password_does_not_echo_the_password(api_client, free_user):
    token = _reset_token(api_client, free_user.email)

    response = api_client.post(RESET_URL, {"token": token, "password": NEW_PASSWORD})

    assert NEW_PASSWORD not in response.content.decode()
    assert token not in response.content.decode()


# ---------------------------------------------------------------- change-password


def test_change_password_returns_a_working_pair_and_revokes_the_old_one(api_client, free_user):
    old = login(api_client, free_user.email, PASSWORD)
    client = bearer(APIClient(), old["access"])

    response = client.post(CHANGE_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 200, response.json()
    new = response.json()
    assert set(new) == {"access", "refresh"}
    free_user.refresh_from_db()
    assert free_user.check_password(NEW_PASSWORD)
    assert _me(new["access"]).status_code == 200
    assert api_client.post(REFRESH_URL, {"refresh": new["refresh"]}).status_code == 200
    assert _me(old["access"]).status_code == 401
    assert api_client.post(REFRESH_URL, {"refresh": old["refresh"]}).status_code == 401


def test_change_password_revokes_other_sessions(api_client, free_user):
    other = login(api_client, free_user.email, PASSWORD)
    mine = login(api_client, free_user.email, PASSWORD)

    bearer(APIClient(), mine["access"]).post(CHANGE_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert _me(other["access"]).status_code == 401
    assert api_client.post(REFRESH_URL, {"refresh": other["refresh"]}).status_code == 401


def test_change_password_refuses_wrong_current_password(api_client, free_user):
    session = login(api_client, free_user.email, PASSWORD)

    response = bearer(APIClient(), session["access"]).post(
        CHANGE_URL, {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert error_attrs(response) == {"current_password": errors.WRONG_PASSWORD}
    free_user.refresh_from_db()
    assert free_user.check_password(PASSWORD)
    assert _me(session["access"]).status_code == 200


def test_change_password_refuses_weak_new_password(api_client, free_user):
    session = login(api_client, free_user.email, PASSWORD)

    response = bearer(APIClient(), session["access"]).post(
        CHANGE_URL, {"current_password": PASSWORD, "new_password": "123"}
    )

    assert response.status_code == 400
    assert set(error_attrs(response)) == {"new_password"}
    free_user.refresh_from_db()
    assert free_user.check_password(PASSWORD)


def test_change_password_requires_authentication(api_client, db):
    response = api_client.post(CHANGE_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 401
    assert error_codes(response) == ["not_authenticated"]


@pytest.mark.parametrize("payload", [{}, {"current_password": PASSWORD}, {"new_password": NEW_PASSWORD}])
def test_change_password_refuses_missing_fields(make_client, free_user, payload):
    response = make_client(free_user).post(CHANGE_URL, payload)

    assert response.status_code == 400
    assert all(code == "required" for code in error_attrs(response).values())
