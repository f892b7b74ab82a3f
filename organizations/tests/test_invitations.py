"""Invitation lifecycle: create → email with a link → accept once, by the invited address only; expiry, revoke,
resend, reuse, unknown emails that register later, and purge."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.tasks import default_task_backend
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from accounts.models import User
from accounts.roles import Plan
from accounts.tests.factories import PASSWORD, UserFactory
from organizations import errors, services
from organizations.models import Invitation, InvitationStatus, Membership, OrgRole
from organizations.tests.factories import InvitationFactory, MembershipFactory
from organizations.tests.utils import (
    FRONTEND_URL,
    accept_url,
    error_codes,
    invitation_token,
    invitation_url,
    invitations_url,
    member_url,
)


def invite(make_client, inviter, organization, email="invitee@example.com", role=OrgRole.MEMBER):
    return make_client(inviter).post(invitations_url(organization), {"email": email, "role": role})


def accept(make_client, user, token):
    return make_client(user).post(accept_url(), {"token": token})


# ---------------------------------------------------------------- create and email


def test_invitation_create_emails_a_single_use_link_and_stores_only_its_hash(make_client, owner, organization):
    response = invite(make_client, owner, organization, email="Invitee@Example.com", role=OrgRole.ADMIN)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == ("invitee@example.com", OrgRole.ADMIN, "pending")
    assert "token" not in body and "token_hash" not in body
    (message,) = mail.outbox
    assert message.to == ["invitee@example.com"]
    assert organization.name in message.subject
    assert f"{FRONTEND_URL}/accept-invitation?token=" in message.body
    token = invitation_token(message)
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.token_hash == services.invitation_token_hash(token) != token
    assert invitation.expires_at == pytest.approx(
        timezone.now() + timedelta(seconds=django_settings.INVITATION_TTL), abs=timedelta(seconds=5)
    )


def test_invitation_email_task_receives_only_the_invitation_id(settings, make_client, owner, organization):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

    response = invite(make_client, owner, organization)

    (queued,) = default_task_backend.results
    assert (queued.args, queued.kwargs) == ([response.json()["id"]], {})
    assert mail.outbox == []


def test_invitation_create_by_an_admin_cannot_invite_an_owner(make_client, org_admin, organization):
    response = invite(make_client, org_admin, organization, role=OrgRole.OWNER)

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_GRANT_FORBIDDEN]
    assert not Invitation.objects.exists()


def test_invitation_create_refuses_an_existing_member(make_client, owner, organization, org_member):
    response = invite(make_client, owner, organization, email=org_member.email.upper())

    assert response.status_code == 400
    assert error_codes(response) == [errors.ALREADY_MEMBER]


def test_invitation_create_refuses_a_second_pending_invitation_for_the_same_email(make_client, owner, organization):
    invite(make_client, owner, organization)

    response = invite(make_client, owner, organization)

    assert response.status_code == 400
    assert error_codes(response) == [errors.INVITATION_PENDING]
    assert Invitation.objects.count() == 1


def test_invitation_create_replaces_an_expired_pending_invitation(make_client, owner, organization):
    expired = InvitationFactory(
        organization=organization, email="invitee@example.com", expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = invite(make_client, owner, organization)

    assert response.status_code == 201
    assert [str(pk) for pk in Invitation.objects.values_list("pk", flat=True)] == [response.json()["id"]]
    assert not Invitation.objects.filter(pk=expired.pk).exists()


# ---------------------------------------------------------------- accept


def test_invitation_accept_joins_with_the_invited_role(make_client, owner, organization):
    invitee = UserFactory(email="invitee@example.com")
    invite(make_client, owner, organization, role=OrgRole.ADMIN)

    response = accept(make_client, invitee, invitation_token(mail.outbox[0]))

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["my_role"]) == (str(organization.pk), OrgRole.ADMIN)
    membership = Membership.objects.get(organization=organization, user=invitee)
    assert (membership.role, membership.provisioned) == (OrgRole.ADMIN, False)
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_by) == (InvitationStatus.ACCEPTED, invitee)


def test_invitation_accept_refuses_a_used_token(make_client, owner, organization):
    invitee = UserFactory(email="invitee@example.com")
    invite(make_client, owner, organization)
    token = invitation_token(mail.outbox[0])
    accept(make_client, invitee, token)

    response = accept(make_client, invitee, token)

    assert response.status_code == 400
    assert error_codes(response) == [errors.INVITATION_USED]


def test_invitation_accept_refuses_an_expired_token(make_client, owner, organization):
    invitee = UserFactory(email="invitee@example.com")
    invite(make_client, owner, organization)
    token = invitation_token(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(seconds=django_settings.INVITATION_TTL + 1)):
        response = accept(make_client, invitee, token)

    assert response.status_code == 400
    assert error_codes(response) == [errors.INVITATION_EXPIRED]
    assert not Membership.objects.filter(user=invitee).exists()


def test_invitation_accept_refuses_a_revoked_token(make_client, owner, organization):
    invitee = UserFactory(email="invitee@example.com")
    invitation = Invitation.objects.get(pk=invite(make_client, owner, organization).json()["id"])
    token = invitation_token(mail.outbox[0])
    assert make_client(owner).delete(invitation_url(invitation)).status_code == 204

    response = accept(make_client, invitee, token)

    assert response.status_code == 400
    assert error_codes(response) == [errors.INVITATION_REVOKED]
    assert not Membership.objects.filter(user=invitee).exists()


def test_invitation_accept_refuses_another_account(make_client, owner, organization):
    UserFactory(email="invitee@example.com")
    intruder = UserFactory()
    invite(make_client, owner, organization)

    response = accept(make_client, intruder, invitation_token(mail.outbox[0]))

    assert response.status_code == 400
    assert error_codes(response) == [errors.INVITATION_EMAIL_MISMATCH]
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get().status == InvitationStatus.PENDING


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43, ""])
def test_invitation_accept_refuses_an_unknown_token(make_client, free_user, token):
    response = accept(make_client, free_user, token)

    assert response.status_code == 400
    assert error_codes(response) == ([errors.INVITATION_INVALID] if token else ["blank"])


def test_invitation_accept_requires_authentication(api_client, db):
    assert api_client.post(accept_url(), {"token": "whatever"}).status_code == 401


def test_invitation_accept_requires_a_verified_email(make_client, owner, organization):
    unverified = UserFactory(email="invitee@example.com", is_verified=False, verified_at=None)
    invite(make_client, owner, organization)

    response = accept(make_client, unverified, invitation_token(mail.outbox[0]))

    assert response.status_code == 400
    assert error_codes(response) == [errors.EMAIL_NOT_VERIFIED]


def test_invitation_accept_by_an_existing_member_keeps_the_membership(make_client, owner, organization):
    invitation = InvitationFactory(organization=organization, email="invitee@example.com", role=OrgRole.ADMIN)
    existing = MembershipFactory(organization=organization, user__email="invitee@example.com")

    response = accept(make_client, existing.user, invitation.token)

    assert response.status_code == 200
    existing.refresh_from_db()
    invitation.refresh_from_db()
    assert (existing.role, invitation.status) == (OrgRole.MEMBER, InvitationStatus.ACCEPTED)


def test_invitation_for_an_email_without_account_is_accepted_after_registering(
    api_client, make_client, owner, organization
):
    invite(make_client, owner, organization, email="newcomer@example.com")
    token = invitation_token(mail.outbox[0])

    registered = api_client.post(
        reverse("api:auth:register"), {"email": "newcomer@example.com", "password": PASSWORD, "full_name": "New"}
    )
    assert registered.status_code == 201, registered.json()
    newcomer = User.objects.get(email="newcomer@example.com")
    assert accept(make_client, newcomer, token).json()["errors"][0]["code"] == errors.EMAIL_NOT_VERIFIED

    verification = next(m for m in mail.outbox if m.to == ["newcomer@example.com"] and "verify-email" in m.body)
    verify_token = verification.body.split("/verify-email?token=")[1].split()[0]
    assert api_client.post(reverse("api:auth:verify"), {"token": verify_token}).status_code == 200
    login = api_client.post(reverse("api:auth:login"), {"email": "newcomer@example.com", "password": PASSWORD})
    assert login.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")

    response = api_client.post(accept_url(), {"token": token})

    assert response.status_code == 200, response.json()
    assert Membership.objects.get(organization=organization, user=newcomer).role == OrgRole.MEMBER


# ---------------------------------------------------------------- resend, revoke, list


def test_invitation_resend_sends_a_new_link_and_kills_the_old_one(make_client, owner, organization):
    invitee = UserFactory(email="invitee@example.com")
    invitation = Invitation.objects.get(pk=invite(make_client, owner, organization).json()["id"])
    old_token = invitation_token(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        response = make_client(owner).post(invitation_url(invitation, "organization-invitation-resend"))
        new_token = invitation_token(mail.outbox[1])
        refused = accept(make_client, invitee, old_token)
        accepted = accept(make_client, invitee, new_token)

    assert response.status_code == 202
    assert response.json()["expires_at"] > invitation.expires_at.isoformat().replace("+00:00", "Z")
    assert new_token != old_token
    assert error_codes(refused) == [errors.INVITATION_INVALID]
    assert accepted.status_code == 200


def test_invitation_resend_revives_an_expired_invitation(make_client, owner, organization):
    invitation = InvitationFactory(organization=organization, expires_at=timezone.now() - timedelta(days=1))

    response = make_client(owner).post(invitation_url(invitation, "organization-invitation-resend"))

    assert response.status_code == 202
    assert response.json()["status"] == InvitationStatus.PENDING
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ({"accepted_at": timezone.now}, errors.INVITATION_USED),
        ({"revoked_at": timezone.now}, errors.INVITATION_REVOKED),
    ],
)
def test_invitation_resend_and_revoke_refuse_a_closed_invitation(make_client, owner, organization, state, code):
    invitation = InvitationFactory(organization=organization, **{field: now() for field, now in state.items()})
    client = make_client(owner)

    resent = client.post(invitation_url(invitation, "organization-invitation-resend"))
    revoked = client.delete(invitation_url(invitation))

    assert (resent.status_code, revoked.status_code) == (400, 400)
    assert error_codes(resent) == error_codes(revoked) == [code]
    assert mail.outbox == []


def test_invitation_revoke_by_an_admin_cannot_touch_an_owner_invitation(make_client, org_admin, organization):
    invitation = InvitationFactory(organization=organization, role=OrgRole.OWNER)

    response = make_client(org_admin).delete(invitation_url(invitation))

    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_invitation_resend_by_an_admin_cannot_revive_an_owner_invitation(make_client, org_admin, organization):
    expired = timezone.now() - timedelta(days=1)
    invitation = InvitationFactory(organization=organization, role=OrgRole.OWNER, expires_at=expired)

    response = make_client(org_admin).post(invitation_url(invitation, "organization-invitation-resend"))

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_GRANT_FORBIDDEN]
    invitation.refresh_from_db()
    assert invitation.expires_at == expired
    assert mail.outbox == []


def test_invitation_resend_by_an_admin_works_for_a_member_invitation(make_client, org_admin, organization):
    invitation = InvitationFactory(organization=organization, role=OrgRole.ADMIN)

    response = make_client(org_admin).post(invitation_url(invitation, "organization-invitation-resend"))

    assert response.status_code == 202
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("actor", "code"),
    [("org_admin", errors.ROLE_GRANT_FORBIDDEN), ("org_member", errors.ORG_ROLE_REQUIRED)],
)
def test_invitation_resend_service_authorizes_like_revoke(request, organization, actor, code):
    invitation = InvitationFactory(organization=organization, role=OrgRole.OWNER)
    caller = request.getfixturevalue(actor)

    for service in (services.invitation_resend, services.invitation_revoke):
        with pytest.raises(PermissionDenied) as exc_info:
            service(invitation=invitation, actor=caller)
        assert exc_info.value.get_codes() == code
    assert mail.outbox == []


@pytest.mark.parametrize("actor", ["owner", "staff_admin", None])
def test_invitation_resend_service_lets_owners_staff_and_the_system_resend(request, organization, actor):
    invitation = InvitationFactory(organization=organization, role=OrgRole.OWNER)
    caller = request.getfixturevalue(actor) if actor else None

    services.invitation_resend(invitation=invitation, actor=caller)

    assert len(mail.outbox) == 1


def test_invitation_list_filters_by_status(make_client, owner, organization):
    pending = InvitationFactory(organization=organization)
    InvitationFactory(organization=organization, revoked_at=timezone.now())
    InvitationFactory(organization=organization, expires_at=timezone.now() - timedelta(seconds=1))

    response = make_client(owner).get(invitations_url(organization), {"status": "pending"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(pending.pk)]


def test_invitations_of_another_organization_are_not_found(make_client, outsider, organization):
    invitation = InvitationFactory(organization=organization)
    client = make_client(outsider)

    assert client.get(invitations_url(organization)).status_code == 404
    assert client.get(invitation_url(invitation)).status_code == 404
    assert client.delete(invitation_url(invitation)).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.parametrize("params", [{}, {"status": "bogus"}, {"page": 2}])
def test_invitation_list_of_another_organization_is_not_found_whatever_the_query(
    make_client, outsider, organization, params
):
    InvitationFactory(organization=organization)

    response = make_client(outsider).get(invitations_url(organization), params)

    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Not found."


@pytest.mark.parametrize("params", [{}, {"status": "bogus"}, {"page": 2}])
def test_invitation_list_is_forbidden_to_a_member_whatever_the_query(make_client, org_member, organization, params):
    # The list shows only the invitations of organizations the caller administers and checks the role only when it
    # has none to show: a MEMBER must still be refused, not answered an empty page, however the query fails.
    InvitationFactory(organization=organization)

    response = make_client(org_member).get(invitations_url(organization), params)

    assert response.status_code == 403
    assert error_codes(response) == ["org_role_required"]


@pytest.mark.parametrize("caller", ["owner", "org_admin", "staff_admin"])
def test_invitation_list_of_an_organization_without_invitations_is_an_empty_page(
    request, make_client, organization, caller
):
    response = make_client(request.getfixturevalue(caller)).get(invitations_url(organization))

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])


def test_invitation_list_of_an_unknown_organization_is_not_found_for_staff(make_client, staff_admin):
    url = reverse("api:organization-invitation-list", kwargs={"organization_pk": uuid.uuid4()})

    assert make_client(staff_admin).get(url).status_code == 404


def test_invitation_of_another_organization_is_not_found_through_my_organization(
    make_client, owner, organization, outsider
):
    foreign = InvitationFactory(organization=outsider.memberships.get().organization)
    url = reverse("api:organization-invitation-detail", kwargs={"organization_pk": organization.pk, "pk": foreign.pk})

    assert make_client(owner).get(url).status_code == 404


# ---------------------------------------------------------------- purge


def test_purge_expired_invitations_deletes_only_expired_unaccepted_ones(db):
    past = timezone.now() - timedelta(seconds=1)
    keep = [
        InvitationFactory(),
        InvitationFactory(expires_at=past, accepted_at=past - timedelta(days=1)),
    ]
    InvitationFactory(expires_at=past)
    InvitationFactory(expires_at=past, revoked_at=past)

    assert services.purge_expired_invitations() == 2
    assert set(Invitation.objects.all()) == set(keep)


# ---------------------------------------------------------------- last owner over the API


def test_last_owner_cannot_leave(make_client, owner, organization):
    response = make_client(owner).delete(member_url(organization, owner))

    assert response.status_code == 400
    assert error_codes(response) == [errors.LAST_OWNER]
    assert Membership.objects.filter(organization=organization, user=owner, role=OrgRole.OWNER).exists()


def test_last_owner_cannot_be_demoted(make_client, owner, organization):
    response = make_client(owner).patch(member_url(organization, owner), {"role": OrgRole.ADMIN})

    assert response.status_code == 400
    assert error_codes(response) == [errors.LAST_OWNER]


def test_last_owner_cannot_be_removed_even_by_staff(make_client, superadmin, owner, organization):
    response = make_client(superadmin).delete(member_url(organization, owner))

    assert response.status_code == 400
    assert error_codes(response) == [errors.LAST_OWNER]


def test_last_owner_cannot_delete_its_account(make_client, owner, organization):
    response = make_client(owner).delete(reverse("api:user-me"))

    assert response.status_code == 400
    assert error_codes(response) == [errors.LAST_OWNER]
    owner.refresh_from_db()
    assert owner.is_active


def test_owner_may_leave_after_transferring_ownership(make_client, owner, organization, org_member):
    client = make_client(owner)
    transfer_url = reverse("api:organization-transfer-ownership", kwargs={"pk": organization.pk})

    assert client.post(transfer_url, {"user_id": str(org_member.pk)}).status_code == 200
    response = client.delete(member_url(organization, owner))

    assert response.status_code == 204
    assert list(organization.memberships.values_list("user", "role")) == [(org_member.pk, OrgRole.OWNER)]


def test_plan_does_not_matter_for_inviting(make_client, db):
    free_owner = UserFactory(plan=Plan.FREE)
    organization = services.organization_create(name="Free org", created_by=free_owner)

    assert invite(make_client, free_owner, organization).status_code == 201
