"""Idempotency-Key on every organization POST that creates or changes something: a retry with the same key replays
the first answer and changes nothing twice (without a key, the same retry is refused or creates again)."""

import pytest
from django.core import mail
from django.urls import reverse

from organizations.models import Invitation, Membership, Organization, OrgRole
from organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory
from organizations.tests.utils import accept_url, invitation_url, invitations_url, members_url

REPLAYED = "Idempotent-Replayed"


def twice(client, url, body=None, key="key-1"):
    """The same POST sent twice with one Idempotency-Key."""
    return [client.post(url, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key) for _ in range(2)]


def assert_replayed(first, retry, status_code):
    assert first.status_code == retry.status_code == status_code, (first.json(), retry.json())
    assert retry.json() == first.json()
    assert (first.headers.get(REPLAYED), retry.headers.get(REPLAYED)) == (None, "true")


def test_organization_create_retried_with_the_same_key_creates_one(make_client, free_user):
    first, retry = twice(make_client(free_user), reverse("api:organization-list"), {"name": "Acme"})

    assert_replayed(first, retry, 201)
    assert Organization.objects.count() == 1


def test_organization_create_with_a_reused_key_and_another_body_is_422(make_client, free_user):
    client = make_client(free_user)
    url = reverse("api:organization-list")

    client.post(url, {"name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    response = client.post(url, {"name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert response.status_code == 422
    assert [error["code"] for error in response.json()["errors"]] == ["idempotency_key_reused"]
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme"]


def test_member_add_retried_with_the_same_key_replays_instead_of_already_member(make_client, owner, organization):
    colleague = MembershipFactory(organization=OrganizationFactory(created_by=owner)).user

    first, retry = twice(make_client(owner), members_url(organization), {"user": str(colleague.pk)})

    assert_replayed(first, retry, 201)
    assert Membership.objects.filter(organization=organization, user=colleague).count() == 1


def test_invitation_create_retried_with_the_same_key_sends_one_invitation(make_client, owner, organization):
    first, retry = twice(make_client(owner), invitations_url(organization), {"email": "new@example.com"})

    assert_replayed(first, retry, 201)
    assert Invitation.objects.filter(organization=organization).count() == 1
    assert len(mail.outbox) == 1


def test_invitation_resend_retried_with_the_same_key_sends_one_email(make_client, owner, organization):
    invitation = InvitationFactory(organization=organization)

    first, retry = twice(make_client(owner), invitation_url(invitation, "organization-invitation-resend"))

    assert_replayed(first, retry, 202)
    assert len(mail.outbox) == 1


def test_ownership_transfer_retried_by_staff_with_the_same_key_replays_instead_of_already_owner(
    make_client, staff_admin, organization, org_member
):
    url = reverse("api:organization-transfer-ownership", kwargs={"pk": organization.pk})

    first, retry = twice(make_client(staff_admin), url, {"user_id": str(org_member.pk)})

    assert_replayed(first, retry, 200)
    assert organization.memberships.get(user=org_member).role == OrgRole.OWNER


def test_ownership_transfer_retried_by_the_former_owner_is_refused_and_changes_nothing_twice(
    make_client, owner, organization, org_member
):
    url = reverse("api:organization-transfer-ownership", kwargs={"pk": organization.pk})

    # Permissions are checked before the key is looked up: the caller is no longer an OWNER, so no replay.
    first, retry = twice(make_client(owner), url, {"user_id": str(org_member.pk)})

    assert (first.status_code, retry.status_code) == (200, 403)
    roles = dict(organization.memberships.values_list("user", "role"))
    assert (roles[owner.pk], roles[org_member.pk]) == (OrgRole.ADMIN, OrgRole.OWNER)


def test_invitation_accept_retried_with_the_same_key_replays_instead_of_invitation_used(
    make_client, organization, free_user
):
    invitation = InvitationFactory(organization=organization, email=free_user.email)

    first, retry = twice(make_client(free_user), accept_url(), {"token": invitation.token})

    assert_replayed(first, retry, 200)
    assert Membership.objects.filter(organization=organization, user=free_user).count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations/",
        "/api/v1/organizations/{id}/transfer-ownership/",
        "/api/v1/organizations/{organization_pk}/members/",
        "/api/v1/organizations/{organization_pk}/invitations/",
        "/api/v1/organizations/{organization_pk}/invitations/{id}/resend/",
        "/api/v1/invitations/accept/",
    ],
)
def test_organization_posts_document_the_idempotency_key(api_client, db, path):
    schema = api_client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()

    operation = schema["paths"][path]["post"]

    assert "Idempotency-Key" in [parameter["name"] for parameter in operation.get("parameters", [])]
    assert {"409", "422", "503"} <= set(operation["responses"])
