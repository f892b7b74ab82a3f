"""Helpers of the accounts tests: emailed links, API logins, error codes."""

import re

from django.core import mail
from django.urls import reverse

FRONTEND_URL = "https://app.bazar.test"


def token_from_mail(message: mail.EmailMessage, path: str) -> str:
    """The token of the one FRONTEND_URL + path link in an email body."""
    links = re.findall(rf"{re.escape(FRONTEND_URL + path)}\?token=([A-Za-z0-9._:-]+)", message.body)
    assert len(links) == 1, message.body
    return links[0]


def mails_to(email: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [email]]


def login(client, email: str, password: str) -> dict:
    """Log in through the API and return the JSON answer ({access, refresh, user})."""
    response = client.post(reverse("api:auth:login"), {"email": email, "password": password})
    assert response.status_code == 200, response.json()
    return response.json()


def error_codes(response) -> list[str]:
    """The codes of a drf-standardized-errors body."""
    return [error["code"] for error in response.json()["errors"]]


def error_attrs(response) -> dict[str, str]:
    return {error["attr"]: error["code"] for error in response.json()["errors"]}


def bearer(client, access: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
