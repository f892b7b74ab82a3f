from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import errors, tokens
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.utils import FRONTEND_URL, error_attrs, mails_to, token_from_mail

pytestmark = pytest.mark.django_db

VERIFY_URL = reverse("api:auth:verify")
RESEND_URL = reverse("api:auth:verify-resend")


def _register_and_get_token(client, email="ada@example.com") -> str:
    client.post(reverse("api:auth:register"), {"email": email, "password": "correct-horse-battery-staple"})
    [message] = mails_to(email)
    return token_from_mail(message, "/verify-email")


def test_verify_marks_user_verified(api_client):
    token = _register_and_get_token(api_client)

    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 200, response.json()
    assert response.json()["email"] == "ada@example.com"
    assert response.json()["is_verified"] is True
    assert response.json()["verified_at"] is not None


def test_verify_refuses_reused_token(api_client):
    token = _register_and_get_token(api_client)
    assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200

    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}


@pytest.mark.parametrize(
    "token",
    ["garbage", "", "a" * 300, "eyJ1IjoiMSJ9.abc.def", "..", "%00", "x" * 2049],
)
def test_verify_refuses_garbage_token(api_client, token):
    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert "token" in error_attrs(response)


def test_verify_refuses_non_string_token(api_client):
    response = api_client.post(VERIFY_URL, {"token": {"u": "x"}}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {"token": "invalid"}


def test_verify_refuses_reset_password_token(api_client, unverified_user):
    token = tokens.make_email_token(unverified_user, tokens.RESET_PASSWORD)

    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}
    unverified_user.refresh_from_db()
    assert unverified_user.is_verified is False


def test_verify_refuses_expired_token(api_client, settings, time_machine):
    settings.EMAIL_VERIFICATION_TIMEOUT = 3600
    time_machine.move_to(timezone.now(), tick=False)
    token = _register_and_get_token(api_client)

    time_machine.shift(timedelta(seconds=3601))
    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_EXPIRED}


def test_verify_accepts_token_just_before_expiry(api_client, settings, time_machine):
    settings.EMAIL_VERIFICATION_TIMEOUT = 3600
    time_machine.move_to(timezone.now(), tick=False)
    token = _register_and_get_token(api_client)

    time_machine.shift(timedelta(seconds=3599))

    assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200


def test_verify_refuses_token_of_deleted_account(api_client):
    token = _register_and_get_token(api_client)
    User.objects.filter(email="ada@example.com").update(is_active=False)

    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}


def test_resend_answers_identically_for_known_and_unknown_emails(api_client, unverified_user):
    known = api_client.post(RESEND_URL, {"email": unverified_user.email.upper()})
    unknown = api_client.post(RESEND_URL, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.content == unknown.content
    [message] = mail.outbox
    assert message.to == [unverified_user.email]
    assert token_from_mail(message, "/verify-email")


def test_resend_sends_nothing_to_verified_user(api_client, free_user):
    response = api_client.post(RESEND_URL, {"email": free_user.email})

    assert response.status_code == 202
    assert mail.outbox == []


def test_resend_link_verifies_and_is_single_use(api_client, unverified_user):
    api_client.post(RESEND_URL, {"email": unverified_user.email})
    token = token_from_mail(mails_to(unverified_user.email)[0], "/verify-email")

    assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200
    unverified_user.refresh_from_db()
    assert unverified_user.is_verified
    assert api_client.post(VERIFY_URL, {"token": token}).status_code == 400


def test_resend_refuses_invalid_email(api_client):
    response = api_client.post(RESEND_URL, {"email": "nope"})

    assert response.status_code == 400
    assert error_attrs(response) == {"email": "invalid"}


def test_verification_link_uses_frontend_url(api_client):
    _register_and_get_token(api_client)

    body = mail.outbox[0].body
    assert f"{FRONTEND_URL}/verify-email?token=" in body


def test_verify_token_of_changed_email_is_spent(api_client):
    """A link sent to the old address stops working once the email changes."""
    user = UserFactory(email="old@example.com", is_verified=False, verified_at=None)
    token = tokens.make_email_token(user, tokens.VERIFY_EMAIL)
    user.email = "new@example.com"
    user.save()

    response = api_client.post(VERIFY_URL, {"token": token})

    assert response.status_code == 400
    assert error_attrs(response) == {"token": errors.TOKEN_INVALID}
