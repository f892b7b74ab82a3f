"""Helpers of the organizations tests."""

import re

from django.core import mail
from django.urls import reverse

FRONTEND_URL = "https://app.bazar.test"


def error_codes(response) -> list[str]:
    """The codes of a drf-standardized-errors body."""
    return [error["code"] for error in response.json()["errors"]]


def invitation_token(message: mail.EmailMessage) -> str:
    """The token of the one accept-invitation link in an email."""
    links = re.findall(rf"{re.escape(FRONTEND_URL)}/accept-invitation\?token=([A-Za-z0-9_-]+)", message.body)
    assert len(links) == 1, message.body
    return links[0]


def org_url(organization, name: str = "organization-detail", **kwargs) -> str:
    if name == "organization-detail":
        return reverse(f"api:{name}", kwargs={"pk": organization.pk, **kwargs})
    return reverse(f"api:{name}", kwargs={"organization_pk": organization.pk, **kwargs})


def members_url(organization) -> str:
    return org_url(organization, "organization-member-list")


def member_url(organization, user) -> str:
    return org_url(organization, "organization-member-detail", user_id=user.pk)


def invitations_url(organization) -> str:
    return org_url(organization, "organization-invitation-list")


def invitation_url(invitation, name: str = "organization-invitation-detail") -> str:
    return org_url(invitation.organization, name, pk=invitation.pk)


def accept_url() -> str:
    return reverse("api:invitation-accept")
