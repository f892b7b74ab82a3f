"""Token safety: lifetimes from settings, pinned algorithm, and no secret ever echoed in a body or a log line."""

import logging
import re

import jwt
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts import errors

ME = "api:user-me"


def _login(api_client, user, password):
    response = api_client.post(reverse("api:auth:login"), {"email": user.email, "password": password})
    assert response.status_code == 200
    return response.json()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_token_lifetimes_come_from_settings(api_client, free_user, password):
    pair = _login(api_client, free_user, password)
    access, refresh = _claims(pair["access"]), _claims(pair["refresh"])

    assert access["exp"] - access["iat"] == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    assert refresh["exp"] - refresh["iat"] == settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] < settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    assert (access["iss"], access["aud"]) == (settings.SIMPLE_JWT["ISSUER"], settings.SIMPLE_JWT["AUDIENCE"])


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_token_with_other_algorithm_is_refused_even_with_the_right_key(
    api_client, make_client, free_user, password, algorithm
):
    claims = _claims(_login(api_client, free_user, password)["access"])
    forged = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get(reverse(ME))

    assert response.status_code == 401
    assert forged not in response.content.decode()


def test_token_with_alg_none_is_refused(api_client, free_user, password):
    claims = _claims(_login(api_client, free_user, password)["access"])
    forged = jwt.encode(claims, key=None, algorithm="none")

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.get(reverse(ME)).status_code == 401


def test_rotated_out_refresh_token_is_refused(api_client, free_user, password):
    pair = _login(api_client, free_user, password)
    rotated = api_client.post(reverse("api:auth:refresh"), {"refresh": pair["refresh"]})
    assert rotated.status_code == 200

    reused = api_client.post(reverse("api:auth:refresh"), {"refresh": pair["refresh"]})

    assert reused.status_code == 401
    assert pair["refresh"] not in reused.content.decode()


def test_error_bodies_never_echo_passwords_or_tokens(api_client, free_user, password):
    secret_password = "Sup3r-Secret-Attempt!"
    bodies = [
        api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": secret_password}),
        api_client.post(reverse("api:auth:reset-password"), {"token": "TOKEN-abc.def.ghi", "password": "short"}),
        api_client.post(
            reverse("api:auth:reset-password"), {"token": "TOKEN-abc.def.ghi", "password": secret_password}
        ),
        api_client.post(reverse("api:auth:verify"), {"token": "TOKEN-abc.def.ghi"}),
        api_client.post(reverse("api:auth:refresh"), {"refresh": "TOKEN-abc.def.ghi"}),
        api_client.post(reverse("api:auth:logout"), {"refresh": "TOKEN-abc.def.ghi"}),
        api_client.get(reverse(ME), HTTP_AUTHORIZATION="Bearer TOKEN-abc.def.ghi"),
        api_client.post(reverse("api:auth:register"), {"email": "n@example.com", "password": "password"}),
    ]

    for response in bodies:
        assert 400 <= response.status_code < 500
        text = response.content.decode()
        assert secret_password not in text
        assert "TOKEN-abc" not in text


def test_logs_never_contain_passwords_tokens_or_reset_links(api_client, free_user, password, caplog):
    caplog.set_level(logging.DEBUG)
    pair = _login(api_client, free_user, password)
    api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": "Wrong-Secret-1!"})
    api_client.post(reverse("api:auth:forgot-password"), {"email": free_user.email})
    link_token = re.search(r"token=([\w.:%-]+)", mail.outbox[-1].body).group(1)
    api_client.post(reverse("api:auth:reset-password"), {"token": link_token, "password": "New-Secret-Pass-9!"})
    api_client.get(reverse(ME), HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    api_client.post(reverse("api:auth:refresh"), {"refresh": pair["refresh"]})

    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in (password, "Wrong-Secret-1!", "New-Secret-Pass-9!", link_token, pair["access"], pair["refresh"]):
        assert secret not in logged


def test_locked_login_does_not_echo_the_password(api_client, free_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    response = api_client.post(reverse("api:auth:login"), {"email": free_user.email, "password": "Guess-Number-1"})

    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == errors.ACCOUNT_LOCKED
    assert "Guess-Number-1" not in response.content.decode()
