"""Organizations and members over the API: scope (404 outside), roles, and the one error format."""

import uuid

import pytest
from django.urls import reverse

from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from organizations import errors
from organizations.models import Membership, Organization, OrgRole
from organizations.tests.factories import MembershipFactory, OrganizationFactory
from organizations.tests.utils import error_codes, member_url, members_url, org_url

LIST_URL = "/api/v1/organizations/"


def test_organization_urls_are_the_spec_ones(organization, owner):
    assert reverse("api:organization-list") == LIST_URL
    assert org_url(organization) == f"{LIST_URL}{organization.pk}/"
    assert members_url(organization) == f"{LIST_URL}{organization.pk}/members/"
    assert member_url(organization, owner) == f"{LIST_URL}{organization.pk}/members/{owner.pk}/"


# ---------------------------------------------------------------- organizations


def test_organization_list_shows_only_own_organizations(make_client, owner, organization, outsider):
    response = make_client(owner).get(LIST_URL)

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["id"], row["my_role"], row["member_count"]) == (str(organization.pk), OrgRole.OWNER, 1)


def test_organization_list_shows_everything_to_staff(make_client, staff_admin, organization, outsider):
    response = make_client(staff_admin).get(LIST_URL)

    assert response.json()["count"] == 2
    assert {row["my_role"] for row in response.json()["results"]} == {None}


def test_organization_list_filters_by_my_role_and_searches_by_name(make_client, owner, organization):
    admin_of = OrganizationFactory(name="Zebra Works")
    MembershipFactory(organization=admin_of, user=owner, role=OrgRole.ADMIN)
    client = make_client(owner)

    by_role = client.get(LIST_URL, {"my_role": OrgRole.ADMIN}).json()["results"]
    by_name = client.get(LIST_URL, {"search": "zebra"}).json()["results"]

    assert [row["id"] for row in by_role] == [row["id"] for row in by_name] == [str(admin_of.pk)]


def test_organization_create_makes_the_caller_owner(make_client, free_user):
    response = make_client(free_user).post(LIST_URL, {"name": "Acme"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["slug"], body["my_role"], body["member_count"]) == ("Acme", "acme", "OWNER", 1)
    assert Membership.objects.get(organization_id=body["id"]).user == free_user


def test_organization_create_requires_a_verified_email(settings, make_client, db):
    settings.REQUIRE_EMAIL_VERIFICATION = False
    unverified = UserFactory(is_verified=False, verified_at=None)

    response = make_client(unverified).post(LIST_URL, {"name": "Acme"})

    assert response.status_code == 403
    assert error_codes(response) == ["email_not_verified"]
    assert not Organization.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": "x" * 151}])
def test_organization_create_refuses_bad_names(make_client, free_user, payload):
    response = make_client(free_user).post(LIST_URL, payload)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert not Organization.objects.exists()


def test_organization_rename_by_admin(make_client, org_admin, organization):
    response = make_client(org_admin).patch(org_url(organization), {"name": "Renamed"})

    assert response.status_code == 200
    organization.refresh_from_db()
    assert organization.name == "Renamed"


def test_organization_patch_without_fields_changes_nothing(make_client, org_admin, organization):
    before = Organization.objects.get(pk=organization.pk)

    response = make_client(org_admin).patch(org_url(organization), {}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["name"]) == (str(organization.pk), organization.name)
    after = Organization.objects.get(pk=organization.pk)
    assert (after.name, after.updated_at) == (before.name, before.updated_at)


def test_organization_put_still_requires_the_name(make_client, org_admin, organization):
    response = make_client(org_admin).put(org_url(organization), {}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == ["required"]


def test_organization_patch_without_fields_by_a_member_is_forbidden(make_client, org_member, organization):
    response = make_client(org_member).patch(org_url(organization), {}, format="json")

    assert response.status_code == 403
    assert error_codes(response) == ["org_role_required"]


def test_organization_rename_by_member_is_forbidden(make_client, org_member, organization):
    response = make_client(org_member).patch(org_url(organization), {"name": "Renamed"})

    assert response.status_code == 403
    assert error_codes(response) == ["org_role_required"]


def test_organization_delete_by_admin_is_forbidden_and_by_owner_works(make_client, owner, org_admin, organization):
    assert make_client(org_admin).delete(org_url(organization)).status_code == 403
    assert make_client(owner).delete(org_url(organization)).status_code == 204
    assert not Organization.objects.filter(pk=organization.pk).exists()


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_organization_of_another_tenant_is_not_found(make_client, outsider, organization, method):
    response = getattr(make_client(outsider), method)(org_url(organization), {"name": "Mine now"})

    assert response.status_code == 404
    assert error_codes(response) == ["not_found"]
    organization.refresh_from_db()
    assert organization.name != "Mine now"


def test_organization_with_a_malformed_id_is_not_found(make_client, owner):
    response = make_client(owner).get(f"{LIST_URL}not-a-uuid/members/")

    assert response.status_code == 404


def test_ownership_transfer_refuses_a_non_member(make_client, owner, organization, outsider):
    url = reverse("api:organization-transfer-ownership", kwargs={"pk": organization.pk})

    response = make_client(owner).post(url, {"user_id": str(outsider.pk)})

    assert response.status_code == 400
    assert error_codes(response) == [errors.NOT_A_MEMBER]


# ---------------------------------------------------------------- members


def test_member_list_shows_active_members_with_their_roles(make_client, org_member, owner, organization):
    MembershipFactory(organization=organization, user__is_active=False)

    response = make_client(org_member).get(members_url(organization))

    assert response.status_code == 200
    rows = {row["user"]["id"]: row["role"] for row in response.json()["results"]}
    assert rows == {str(owner.pk): OrgRole.OWNER, str(org_member.pk): OrgRole.MEMBER}


def test_member_add_by_email_of_a_colleague(make_client, owner, organization):
    colleague = MembershipFactory(organization=OrganizationFactory(created_by=owner)).user

    response = make_client(owner).post(members_url(organization), {"email": colleague.email.upper(), "role": "ADMIN"})

    assert response.status_code == 201, response.json()
    assert (response.json()["user"]["id"], response.json()["role"]) == (str(colleague.pk), OrgRole.ADMIN)


def test_member_add_by_id(make_client, owner, organization):
    colleague = MembershipFactory(organization=OrganizationFactory(created_by=owner)).user

    response = make_client(owner).post(members_url(organization), {"user": str(colleague.pk)})

    assert response.status_code == 201
    assert Membership.objects.get(organization=organization, user=colleague).role == OrgRole.MEMBER


@pytest.mark.parametrize("existing", [True, False])
def test_member_add_of_a_stranger_answers_the_same_whether_the_account_exists(
    make_client, owner, organization, existing
):
    if existing:
        UserFactory(email="stranger@example.com")

    response = make_client(owner).post(members_url(organization), {"email": "stranger@example.com"})

    assert response.status_code == 400
    assert error_codes(response) == [errors.USER_NOT_FOUND]


def test_member_add_needs_user_or_email(make_client, owner, organization):
    response = make_client(owner).post(members_url(organization), {"role": "MEMBER"})

    assert response.status_code == 400


def test_member_add_by_a_member_is_forbidden(make_client, org_member, organization):
    response = make_client(org_member).post(members_url(organization), {"email": "x@example.com"})

    assert response.status_code == 403


def test_member_role_change_by_admin(make_client, org_admin, org_member, organization):
    response = make_client(org_admin).patch(member_url(organization, org_member), {"role": "ADMIN"})

    assert response.status_code == 200
    assert response.json()["role"] == OrgRole.ADMIN


def test_member_role_change_refuses_an_unknown_role(make_client, owner, org_member, organization):
    response = make_client(owner).patch(member_url(organization, org_member), {"role": "KING"})

    assert response.status_code == 400
    assert error_codes(response) == ["invalid_choice"]


def test_member_role_change_by_admin_of_an_owner_is_forbidden(make_client, org_admin, owner, organization):
    response = make_client(org_admin).patch(member_url(organization, owner), {"role": "MEMBER"})

    assert response.status_code == 403
    assert error_codes(response) == [errors.MEMBER_PROTECTED]


def test_member_leaves(make_client, org_member, organization):
    response = make_client(org_member).delete(member_url(organization, org_member))

    assert response.status_code == 204
    assert not Membership.objects.filter(organization=organization, user=org_member).exists()


def test_member_cannot_remove_another_member(make_client, org_member, org_admin, organization):
    response = make_client(org_member).delete(member_url(organization, org_admin))

    assert response.status_code == 403
    assert Membership.objects.filter(organization=organization, user=org_admin).exists()


def test_member_of_another_organization_is_not_found_through_mine(make_client, owner, organization, outsider):
    response = make_client(owner).get(member_url(organization, outsider))

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_members_of_another_tenant_are_not_found(make_client, outsider, owner, organization, method):
    response = getattr(make_client(outsider), method)(member_url(organization, owner), {"role": "MEMBER"})

    assert response.status_code == 404
    assert Membership.objects.get(organization=organization, user=owner).role == OrgRole.OWNER


@pytest.mark.parametrize("params", [{}, {"role": "ADMIN"}, {"role": "WIZARD"}, {"page": 2}])
def test_member_list_of_another_tenant_is_not_found_whatever_the_query(make_client, outsider, organization, params):
    # The list reaches the organization through the caller's scope in its own queries; a filter matching nothing,
    # an invalid filter or page must still answer the organization's 404 first.
    response = make_client(outsider).get(members_url(organization), params)

    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Not found."


def test_member_list_answers_an_empty_page_when_no_member_matches(make_client, org_member, organization):
    response = make_client(org_member).get(members_url(organization), {"role": OrgRole.ADMIN})

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])


def test_member_list_for_staff_shows_any_organization_and_not_an_unknown_one(
    make_client, staff_admin, owner, organization
):
    client = make_client(staff_admin)

    assert [row["user"]["id"] for row in client.get(members_url(organization)).json()["results"]] == [str(owner.pk)]
    assert client.get(f"{LIST_URL}{uuid.uuid4()}/members/").status_code == 404


def test_member_role_change_needs_no_plan(make_client, organization):
    free_admin = MembershipFactory(organization=organization, role=OrgRole.ADMIN, user__plan=Plan.FREE).user
    colleague = MembershipFactory(organization=organization).user

    response = make_client(free_admin).patch(member_url(organization, colleague), {"role": "ADMIN"})

    assert response.status_code == 200
