"""The organization admin: creation, members and invitations go through organizations.services, so the admin can
never leave an organization without an OWNER."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from organizations import errors as org_errors
from organizations import services as org_services
from organizations.models import Invitation, Membership, Organization, OrgRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@acme.test")


@pytest.fixture
def org(owner):
    return org_services.organization_create(name="Acme", created_by=owner)


@pytest.fixture
def member(org):
    user = UserFactory(email="member@acme.test")
    org_services.membership_add(organization=org, user=user, role=OrgRole.MEMBER)
    return user


@pytest.fixture
def superadmin_client(client, superadmin):
    client.force_login(superadmin)
    return client


def change_url(org: Organization) -> str:
    return reverse("admin:organizations_organization_change", args=[org.pk])


def org_post(org: Organization, *, name=None, roles=None, delete=(), add=()) -> dict:
    """The organization change form with its member rows, as the browser posts it."""
    roles = roles or {}
    members = list(Membership.objects.filter(organization=org))
    data = {
        "name": name or org.name,
        "_save": "Save",
        "memberships-TOTAL_FORMS": str(len(members) + len(add)),
        "memberships-INITIAL_FORMS": str(len(members)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "invitations-TOTAL_FORMS": "0",
        "invitations-INITIAL_FORMS": "0",
        "invitations-MIN_NUM_FORMS": "0",
        "invitations-MAX_NUM_FORMS": "0",
    }
    for index, membership in enumerate(members):
        prefix = f"memberships-{index}-"
        data |= {
            f"{prefix}id": str(membership.pk),
            f"{prefix}organization": str(org.pk),
            f"{prefix}user": str(membership.user_id),
            f"{prefix}role": roles.get(membership.user_id, membership.role),
        }
        if membership.user_id in {user.pk for user in delete}:
            data[f"{prefix}DELETE"] = "on"
    for index, (user, role) in enumerate(add, start=len(members)):
        prefix = f"memberships-{index}-"
        data |= {f"{prefix}organization": str(org.pk), f"{prefix}user": str(user.pk), f"{prefix}role": role}
    return data


def roles_of(org: Organization) -> dict:
    return dict(Membership.objects.filter(organization=org).values_list("user__email", "role"))


def messages_after(client, response) -> list[str]:
    page = client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


# ---------------------------------------------------------------- organizations
def test_organization_add_creates_through_service_with_owner(superadmin_client, owner):
    response = superadmin_client.post(
        reverse("admin:organizations_organization_add"), {"name": "Globex Corp", "created_by": str(owner.pk)}
    )
    assert response.status_code == 302
    org = Organization.objects.get(name="Globex Corp")
    assert org.slug == "globex-corp"
    assert roles_of(org) == {owner.email: OrgRole.OWNER}


def test_organization_add_requires_an_owner(superadmin_client):
    response = superadmin_client.post(reverse("admin:organizations_organization_add"), {"name": "Nobody's"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["created_by"]
    assert not Organization.objects.exists()


def test_organization_rename_keeps_slug(superadmin_client, org):
    slug = org.slug
    assert superadmin_client.post(change_url(org), org_post(org, name="Acme Renamed")).status_code == 302
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Acme Renamed", slug)


def test_organization_page_shows_members_and_invitations(superadmin_client, org, member, owner):
    org_services.invitation_create(organization=org, email="new@acme.test", role=OrgRole.MEMBER, invited_by=owner)
    response = superadmin_client.get(change_url(org))
    body = response.content.decode()
    assert response.status_code == 200
    assert member.email in body and owner.email in body and "new@acme.test" in body


def test_organization_changelist_counts_members(superadmin_client, org, member, django_assert_max_num_queries):
    other = org_services.organization_create(name="Other", created_by=UserFactory())
    with django_assert_max_num_queries(12):
        response = superadmin_client.get(reverse("admin:organizations_organization_changelist"))
    counts = {row.name: row._member_count for row in response.context["cl"].result_list}
    assert counts == {"Acme": 2, other.name: 1}


def test_organization_delete_goes_through_service(superadmin_client, org):
    provisioned = org_services.org_user_create(organization=org, email="made@acme.test", actor=None)
    response = superadmin_client.post(
        reverse("admin:organizations_organization_delete", args=[org.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()
    provisioned.refresh_from_db()
    assert not provisioned.is_active


# ---------------------------------------------------------------- members inline
def test_inline_adds_member(superadmin_client, org):
    newcomer = UserFactory(email="newcomer@acme.test")
    response = superadmin_client.post(change_url(org), org_post(org, add=[(newcomer, OrgRole.ADMIN)]))
    assert response.status_code == 302
    assert roles_of(org)[newcomer.email] == OrgRole.ADMIN


def test_inline_changes_member_role(superadmin_client, org, member):
    superadmin_client.post(change_url(org), org_post(org, roles={member.pk: OrgRole.ADMIN}))
    assert roles_of(org)[member.email] == OrgRole.ADMIN


def test_inline_removes_member(superadmin_client, org, member):
    superadmin_client.post(change_url(org), org_post(org, delete=[member]))
    assert member.email not in roles_of(org)


def test_inline_cannot_remove_last_owner(superadmin_client, org, owner, member):
    response = superadmin_client.post(change_url(org), org_post(org, name="Should not stick", delete=[owner]))
    assert response.status_code == 302
    assert org_errors.LAST_OWNER_MESSAGE in messages_after(superadmin_client, response)
    assert roles_of(org)[owner.email] == OrgRole.OWNER
    org.refresh_from_db()
    assert org.name == "Acme"  # the whole save was rolled back


def test_inline_cannot_demote_last_owner(superadmin_client, org, owner, member):
    response = superadmin_client.post(change_url(org), org_post(org, roles={owner.pk: OrgRole.MEMBER}))
    assert org_errors.LAST_OWNER_MESSAGE in messages_after(superadmin_client, response)
    assert roles_of(org)[owner.email] == OrgRole.OWNER


def test_inline_hands_ownership_over_in_one_save(superadmin_client, org, owner, member):
    superadmin_client.post(change_url(org), org_post(org, roles={owner.pk: OrgRole.ADMIN, member.pk: OrgRole.OWNER}))
    assert roles_of(org) == {owner.email: OrgRole.ADMIN, member.email: OrgRole.OWNER}


def test_inline_cannot_move_membership_to_another_user(superadmin_client, org, member):
    intruder = UserFactory()
    data = org_post(org)
    index = next(key for key, value in data.items() if value == str(member.pk) and key.endswith("-user"))
    data[index] = str(intruder.pk)
    superadmin_client.post(change_url(org), data)
    assert member.email in roles_of(org) and intruder.email not in roles_of(org)


def test_staff_admin_manages_members_but_cannot_delete_organization(client, staff_admin, org):
    client.force_login(staff_admin)
    newcomer = UserFactory()
    assert client.post(change_url(org), org_post(org, add=[(newcomer, OrgRole.MEMBER)])).status_code == 302
    assert newcomer.email in roles_of(org)
    assert client.get(reverse("admin:organizations_organization_delete", args=[org.pk])).status_code == 403


# ---------------------------------------------------------------- memberships admin
def test_membership_add_page_creates_through_service(superadmin_client, org):
    user = UserFactory()
    response = superadmin_client.post(
        reverse("admin:organizations_membership_add"),
        {"organization": str(org.pk), "user": str(user.pk), "role": OrgRole.MEMBER},
    )
    assert response.status_code == 302
    assert roles_of(org)[user.email] == OrgRole.MEMBER


def test_membership_add_page_refuses_duplicate(superadmin_client, org, member):
    response = superadmin_client.post(
        reverse("admin:organizations_membership_add"),
        {"organization": str(org.pk), "user": str(member.pk), "role": OrgRole.ADMIN},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert roles_of(org)[member.email] == OrgRole.MEMBER


def test_membership_delete_view_refuses_last_owner(superadmin_client, org, owner):
    membership = Membership.objects.get(organization=org, user=owner)
    response = superadmin_client.post(
        reverse("admin:organizations_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert org_errors.LAST_OWNER_MESSAGE in messages_after(superadmin_client, response)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_remove_memberships_action_skips_last_owner(superadmin_client, org, owner, member):
    memberships = Membership.objects.filter(organization=org)
    response = superadmin_client.post(
        reverse("admin:organizations_membership_changelist"),
        {"action": "remove_memberships", "index": "0", ACTION_CHECKBOX_NAME: [str(m.pk) for m in memberships]},
    )
    assert roles_of(org) == {owner.email: OrgRole.OWNER}
    assert any(org_errors.LAST_OWNER_MESSAGE in text for text in messages_after(superadmin_client, response))


def test_membership_changelist_offers_no_unchecked_bulk_delete(superadmin_client, org):
    response = superadmin_client.get(reverse("admin:organizations_membership_changelist"))
    assert "delete_selected" not in dict(response.context["action_form"].fields["action"].choices)


# ---------------------------------------------------------------- invitations
@pytest.fixture
def invitation(org, owner):
    return org_services.invitation_create(
        organization=org, email="guest@acme.test", role=OrgRole.MEMBER, invited_by=owner
    )


def test_revoke_action_revokes_pending_invitation(superadmin_client, invitation):
    superadmin_client.post(
        reverse("admin:organizations_invitation_changelist"),
        {"action": "revoke_invitations", "index": "0", ACTION_CHECKBOX_NAME: [str(invitation.pk)]},
    )
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_resend_action_restarts_expiry(superadmin_client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    superadmin_client.post(
        reverse("admin:organizations_invitation_changelist"),
        {"action": "resend_invitations", "index": "0", ACTION_CHECKBOX_NAME: [str(invitation.pk)]},
    )
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now()


def test_invitation_status_filter(superadmin_client, invitation, org, owner):
    revoked = org_services.invitation_create(organization=org, email="gone@acme.test", invited_by=owner)
    org_services.invitation_revoke(invitation=revoked)
    url = reverse("admin:organizations_invitation_changelist")
    pending = superadmin_client.get(url, {"status": "pending"}).context["cl"].result_list
    revoked_rows = superadmin_client.get(url, {"status": "revoked"}).context["cl"].result_list
    assert [row.email for row in pending] == ["guest@acme.test"]
    assert [row.email for row in revoked_rows] == ["gone@acme.test"]


def test_invitations_cannot_be_added_in_admin(superadmin_client):
    assert superadmin_client.get(reverse("admin:organizations_invitation_add")).status_code == 403
