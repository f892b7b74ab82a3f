"""users/ for organizations (issue 3 item 4): everyone reads the people they share an organization with; a PREMIUM
OWNER/ADMIN creates accounts into its organization, changes its members' profiles and removes them."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from organizations import errors
from organizations.models import Membership, OrgRole
from organizations.tests.factories import MembershipFactory, OrganizationFactory
from organizations.tests.utils import error_codes

LIST_URL = "/api/v1/users/"


def detail_url(user) -> str:
    return reverse("api:user-detail", kwargs={"pk": user.pk})


def new_user(organization, **extra) -> dict:
    return {"email": "new@example.com", "full_name": "New Person", "organization": str(organization.pk), **extra}


# ---------------------------------------------------------------- read


@pytest.mark.parametrize("plan", [Plan.FREE, Plan.PLUS, Plan.PREMIUM])
def test_user_list_shows_colleagues_to_every_plan(make_client, organization, owner, outsider, plan):
    reader = MembershipFactory(organization=organization, user__plan=plan).user

    response = make_client(reader).get(LIST_URL)

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {str(reader.pk), str(owner.pk)}


def test_user_list_hides_deactivated_colleagues(make_client, organization, owner):
    MembershipFactory(organization=organization, user__is_active=False)

    response = make_client(owner).get(LIST_URL)

    assert [row["id"] for row in response.json()["results"]] == [str(owner.pk)]


def test_user_list_counts_a_colleague_of_two_shared_organizations_once(make_client, organization, owner):
    colleague = MembershipFactory(organization=organization).user
    second = OrganizationFactory(owner=owner)
    MembershipFactory(organization=second, user=colleague)

    body = make_client(owner).get(LIST_URL, {"ordering": "email"}).json()

    assert body["count"] == 2
    assert sorted(row["id"] for row in body["results"]) == sorted([str(owner.pk), str(colleague.pk)])


def test_user_of_another_organization_is_not_found(make_client, owner, organization, outsider):
    assert make_client(owner).get(detail_url(outsider)).status_code == 404


# ---------------------------------------------------------------- create


def test_user_create_by_premium_owner_provisions_a_member_and_emails_verification(make_client, owner, organization):
    response = make_client(owner).post(LIST_URL, new_user(organization, organization_role="ADMIN"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["email"], body["role"], body["plan"], body["is_verified"]) == (
        "new@example.com",
        Role.USER,
        Plan.FREE,
        False,
    )
    membership = Membership.objects.get(user_id=body["id"])
    assert (membership.organization, membership.role, membership.provisioned) == (organization, OrgRole.ADMIN, True)
    assert [message.to for message in mail.outbox] == [["new@example.com"]]
    assert "/verify-email?token=" in mail.outbox[0].body


def test_user_create_by_org_admin_cannot_make_an_owner(make_client, org_admin, organization):
    response = make_client(org_admin).post(LIST_URL, new_user(organization, organization_role="OWNER"))

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_GRANT_FORBIDDEN]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("field", [{"plan": Plan.PREMIUM}, {"role": Role.ADMIN}, {"is_verified": True}])
def test_user_create_by_org_owner_cannot_set_staff_fields(make_client, owner, organization, field):
    response = make_client(owner).post(LIST_URL, new_user(organization, **field))

    assert response.status_code == 403
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("plan", [Plan.FREE, Plan.PLUS])
def test_user_create_needs_premium(make_client, plan, db):
    organization = OrganizationFactory(created_by=UserFactory(plan=plan))

    response = make_client(organization.created_by).post(LIST_URL, new_user(organization))

    assert response.status_code == 403
    assert error_codes(response) == [errors.PLAN_UPGRADE_REQUIRED]


def test_user_create_into_an_organization_out_of_scope_is_refused_like_an_unknown_one(
    make_client, outsider, organization
):
    response = make_client(outsider).post(LIST_URL, new_user(organization))

    assert response.status_code == 400
    assert error_codes(response) == ["does_not_exist"]
    assert not User.objects.filter(email="new@example.com").exists()


def test_user_create_by_org_owner_requires_the_organization(make_client, owner, organization):
    response = make_client(owner).post(LIST_URL, {"email": "new@example.com"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "organization"


def test_user_create_by_staff_with_an_organization(make_client, staff_admin, organization):
    response = make_client(staff_admin).post(LIST_URL, new_user(organization, plan=Plan.PLUS))

    assert response.status_code == 201
    user = User.objects.get(email="new@example.com")
    assert user.plan == Plan.PLUS
    assert Membership.objects.get(user=user).provisioned


def test_user_create_refuses_a_taken_email(make_client, owner, organization):
    UserFactory(email="new@example.com")

    response = make_client(owner).post(LIST_URL, new_user(organization))

    assert response.status_code == 400
    assert error_codes(response) == ["email_taken"]
    assert Membership.objects.filter(organization=organization).count() == 1


# ---------------------------------------------------------------- update


def test_user_update_by_org_admin_changes_a_members_name(make_client, org_admin, organization):
    target = MembershipFactory(organization=organization).user

    response = make_client(org_admin).patch(detail_url(target), {"full_name": "Renamed"})

    assert response.status_code == 200
    target.refresh_from_db()
    assert target.full_name == "Renamed"


def test_user_update_by_org_admin_of_a_self_registered_member_email_is_forbidden(make_client, owner, organization):
    target = MembershipFactory(organization=organization).user

    response = make_client(owner).patch(detail_url(target), {"email": "attacker@example.com"})

    assert response.status_code == 403
    assert error_codes(response) == [errors.EMAIL_CHANGE_FORBIDDEN]
    target.refresh_from_db()
    assert target.email != "attacker@example.com"


def test_user_update_by_org_owner_changes_a_provisioned_email(make_client, owner, organization):
    target = MembershipFactory(organization=organization, provisioned=True).user

    response = make_client(owner).patch(detail_url(target), {"email": "moved@example.com"})

    assert response.status_code == 200
    assert response.json()["email"] == "moved@example.com"


@pytest.mark.parametrize("field", [{"plan": Plan.PREMIUM}, {"role": Role.ADMIN}, {"is_blocked": True}])
def test_user_update_by_org_owner_cannot_touch_staff_fields(make_client, owner, organization, field):
    target = MembershipFactory(organization=organization).user

    response = make_client(owner).patch(detail_url(target), field)

    assert response.status_code == 403
    assert error_codes(response) == [errors.STAFF_ONLY]
    target.refresh_from_db()
    assert (target.plan, target.role, target.is_blocked) == (Plan.FREE, Role.USER, False)


def test_user_update_by_org_admin_of_an_owner_is_forbidden(make_client, org_admin, owner, organization):
    response = make_client(org_admin).patch(detail_url(owner), {"full_name": "Demoted"})

    assert response.status_code == 403
    assert error_codes(response) == [errors.MEMBER_PROTECTED]


def test_user_update_by_org_member_is_forbidden(make_client, org_member, owner, organization):
    response = make_client(org_member).patch(detail_url(owner), {"full_name": "x"})

    assert response.status_code == 403


def test_user_update_of_oneself_goes_through_me(make_client, owner, organization):
    response = make_client(owner).patch(detail_url(owner), {"full_name": "Me"})

    assert response.status_code == 403
    assert make_client(owner).patch(reverse("api:user-me"), {"full_name": "Me"}).status_code == 200


# ---------------------------------------------------------------- remove


def test_user_delete_by_org_owner_removes_and_deactivates_a_provisioned_account(make_client, owner, organization):
    target = MembershipFactory(organization=organization, provisioned=True).user

    response = make_client(owner).delete(detail_url(target))

    assert response.status_code == 204
    target.refresh_from_db()
    assert target.is_active is False
    assert not Membership.objects.filter(user=target).exists()


def test_user_delete_by_org_owner_only_removes_a_self_registered_account(make_client, owner, organization):
    target = MembershipFactory(organization=organization).user
    elsewhere = MembershipFactory(user=target)

    response = make_client(owner).delete(detail_url(target))

    assert response.status_code == 204
    target.refresh_from_db()
    assert target.is_active is True
    assert list(Membership.objects.filter(user=target)) == [elsewhere]


def test_user_delete_by_staff_deactivates(make_client, staff_admin, organization):
    target = MembershipFactory(organization=organization).user

    assert make_client(staff_admin).delete(detail_url(target)).status_code == 204
    target.refresh_from_db()
    assert target.is_active is False


def test_user_delete_by_org_owner_of_a_staff_member_is_forbidden(make_client, owner, organization):
    staff_member = MembershipFactory(organization=organization, user__role=Role.ADMIN).user

    response = make_client(owner).delete(detail_url(staff_member))

    assert response.status_code == 403
    assert Membership.objects.filter(user=staff_member).exists()
