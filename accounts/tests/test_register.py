import pytest
from django.urls import reverse

from accounts import errors
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import FRONTEND_URL, error_attrs, mails_to, token_from_mail

pytestmark = pytest.mark.django_db

URL = reverse("api:auth:register")
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "role",
    "plan",
    "is_verified",
    "verified_at",
    "is_blocked",
    "blocked_reason",
    "is_active",
    "created_at",
    "updated_at",
}


def test_register_creates_unverified_free_user(api_client):
    response = api_client.post(URL, {"email": "Ada@Example.COM", "password": PASSWORD, "full_name": "Ada Lovelace"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "ada@example.com"
    assert body["full_name"] == "Ada Lovelace"
    assert (body["role"], body["plan"], body["is_verified"], body["is_blocked"]) == ("USER", "FREE", False, False)
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert user.password != PASSWORD


def test_register_never_echoes_the_password(api_client):
    response = api_client.post(URL, {"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 201
    assert PASSWORD not in response.content.decode()
    assert "password" not in response.json()


def test_register_sends_verification_link(api_client):
    api_client.post(URL, {"email": "ada@example.com", "password": PASSWORD})

    [message] = mails_to("ada@example.com")
    assert f"{FRONTEND_URL}/verify-email?token=" in message.body
    assert token_from_mail(message, "/verify-email")


def test_register_refuses_email_taken_in_another_case(api_client):
    UserFactory(email="ada@example.com")

    response = api_client.post(URL, {"email": "ADA@Example.com", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert error_attrs(response) == {"email": errors.EMAIL_TAKEN}
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


@pytest.mark.parametrize(
    "escalation",
    [
        {"role": Role.SUPERADMIN},
        {"role": Role.ADMIN},
        {"plan": Plan.PREMIUM},
        {"is_verified": True},
        {"is_blocked": True},
        {"is_active": False},
        {"is_staff": True, "is_superuser": True},
        {"token_version": 99},
    ],
)
def test_register_ignores_privileged_fields(api_client, escalation):
    response = api_client.post(URL, {"email": "mallory@example.com", "password": PASSWORD, **escalation})

    assert response.status_code == 201, response.json()
    user = User.objects.get(email="mallory@example.com")
    assert (user.role, user.plan, user.is_verified, user.is_blocked, user.is_active) == (
        Role.USER,
        Plan.FREE,
        False,
        False,
        True,
    )
    assert not user.is_staff and not user.is_superuser
    assert user.token_version == 0


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1", "password_too_short"),
        ("password123", "password_too_common"),
        ("83920174659", "password_entirely_numeric"),
        ("ada.lovelace@example.com", "password_too_similar"),
    ],
)
def test_register_refuses_weak_password(api_client, password, code):
    response = api_client.post(URL, {"email": "ada.lovelace@example.com", "password": password})

    assert response.status_code == 400
    assert code in [e["code"] for e in response.json()["errors"] if e["attr"] == "password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"password": PASSWORD}, "email", "required"),
        ({"email": "not-an-email", "password": PASSWORD}, "email", "invalid"),
        ({"email": "ada@example.com"}, "password", "required"),
        ({"email": "ada@example.com", "password": PASSWORD, "full_name": "x" * 151}, "full_name", "max_length"),
    ],
)
def test_register_refuses_invalid_input(api_client, payload, attr, code):
    response = api_client.post(URL, payload)

    assert response.status_code == 400
    assert error_attrs(response)[attr] == code
    assert not User.objects.exists()
