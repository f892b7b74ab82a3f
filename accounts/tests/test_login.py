import jwt
import pytest
from django.conf import settings
from django.urls import reverse

from accounts import errors, services
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import error_codes

pytestmark = pytest.mark.django_db

URL = reverse("api:auth:login")


def test_login_returns_pair_and_user(api_client, free_user):
    response = api_client.post(URL, {"email": free_user.email, "password": PASSWORD})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["id"] == str(free_user.pk)
    assert body["user"]["email"] == free_user.email
    me = api_client.get(reverse("api:user-me"), HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == 200
    assert me.json()["id"] == str(free_user.pk)


def test_login_is_case_insensitive_on_email(api_client):
    user = UserFactory(email="ada@example.com")

    response = api_client.post(URL, {"email": "  ADA@Example.Com ", "password": PASSWORD})

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["id"] == str(user.pk)


def test_login_refuses_wrong_password(api_client, free_user):
    response = api_client.post(URL, {"email": free_user.email, "password": "wrong-password-123"})

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"
    assert error_codes(response) == [errors.INVALID_CREDENTIALS]
    assert "WWW-Authenticate" in response.headers


def test_login_answers_unknown_email_like_wrong_password(api_client, free_user):
    wrong = api_client.post(URL, {"email": free_user.email, "password": "wrong-password-123"})
    unknown = api_client.post(URL, {"email": "nobody@example.com", "password": "wrong-password-123"})

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_login_refuses_unverified_user(api_client, unverified_user):
    response = api_client.post(URL, {"email": unverified_user.email, "password": PASSWORD})

    assert response.status_code == 403
    assert error_codes(response) == [errors.EMAIL_NOT_VERIFIED]
    assert "access" not in response.json()


def test_login_does_not_reveal_unverified_state_without_the_password(api_client, unverified_user):
    response = api_client.post(URL, {"email": unverified_user.email, "password": "wrong-password-123"})

    assert response.status_code == 401
    assert error_codes(response) == [errors.INVALID_CREDENTIALS]


def test_login_allows_unverified_user_when_verification_is_off(api_client, settings, unverified_user):
    settings.REQUIRE_EMAIL_VERIFICATION = False

    response = api_client.post(URL, {"email": unverified_user.email, "password": PASSWORD})

    assert response.status_code == 200, response.json()
    assert response.json()["user"]["is_verified"] is False


def test_login_refuses_blocked_user(api_client, free_user):
    services.user_block(user=free_user, reason="spam")

    response = api_client.post(URL, {"email": free_user.email, "password": PASSWORD})

    assert response.status_code == 403
    assert error_codes(response) == [errors.ACCOUNT_BLOCKED]


def test_login_does_not_reveal_blocked_state_without_the_password(api_client, free_user):
    services.user_block(user=free_user)

    response = api_client.post(URL, {"email": free_user.email, "password": "wrong-password-123"})

    assert response.status_code == 401
    assert error_codes(response) == [errors.INVALID_CREDENTIALS]


def test_login_refuses_deleted_user(api_client, free_user):
    services.user_deactivate(user=free_user)

    response = api_client.post(URL, {"email": free_user.email, "password": PASSWORD})

    assert response.status_code == 401
    assert error_codes(response) == [errors.INVALID_CREDENTIALS]


@pytest.mark.parametrize(
    ("payload", "attr"),
    [({"password": PASSWORD}, "email"), ({"email": "ada@example.com"}, "password"), ({}, "email")],
)
def test_login_refuses_missing_fields(api_client, payload, attr):
    response = api_client.post(URL, payload)

    assert response.status_code == 400
    assert attr in {error["attr"] for error in response.json()["errors"]}


def test_login_access_token_carries_user_claims(api_client):
    user = UserFactory(email="ada@example.com", role="ADMIN", plan="PLUS")

    access = api_client.post(URL, {"email": user.email, "password": PASSWORD}).json()["access"]

    claims = jwt.decode(
        access,
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
        issuer=settings.SIMPLE_JWT["ISSUER"],
    )
    assert claims["user_id"] == str(user.pk)
    assert (claims["email"], claims["role"], claims["plan"]) == ("ada@example.com", "ADMIN", "PLUS")
    assert claims["token_type"] == "access"
    assert claims["iss"] == "bazar"
    assert claims["aud"] == "bazar-api"
