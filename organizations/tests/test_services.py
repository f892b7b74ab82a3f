"""Organization and membership rules, through the services every caller (API, admin, commands) uses."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.exceptions import PermissionDenied

from accounts import services as account_services
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from organizations import errors, services
from organizations.models import Membership, Organization, OrgRole
from organizations.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def codes(exc_info) -> set[str]:
    """The error codes of a service refusal: a 403 (PermissionDenied) or a ValidationError."""
    exc = exc_info.value
    if isinstance(exc, PermissionDenied):
        return {exc.get_codes()}
    if hasattr(exc, "error_dict"):
        return {error.code for field_errors in exc.error_dict.values() for error in field_errors}
    return {error.code for error in exc.error_list}


def member(organization, role=OrgRole.MEMBER, **kwargs) -> Membership:
    return MembershipFactory(organization=organization, role=role, **kwargs)


# ---------------------------------------------------------------- organizations


def test_organization_create_makes_the_creator_owner():
    user = UserFactory()

    organization = services.organization_create(name="  Acme Labs ", created_by=user)

    assert (organization.name, organization.slug, organization.created_by) == ("Acme Labs", "acme-labs", user)
    assert list(organization.memberships.values_list("user", "role")) == [(user.pk, OrgRole.OWNER)]


def test_organization_create_gives_a_unique_slug_when_the_name_is_taken():
    first = services.organization_create(name="Acme", created_by=UserFactory())
    second = services.organization_create(name="Acme", created_by=UserFactory())

    assert first.slug == "acme"
    assert second.slug.startswith("acme-") and second.slug != first.slug


def test_organization_create_refuses_a_blank_name():
    with pytest.raises(ValidationError) as exc_info:
        services.organization_create(name="   ", created_by=UserFactory())

    assert codes(exc_info) == {"blank"}
    assert not Organization.objects.exists()


def test_organization_update_renames_and_keeps_the_slug():
    organization = OrganizationFactory(name="Old", slug="old")

    services.organization_update(organization=organization, name="New")

    organization.refresh_from_db()
    assert (organization.name, organization.slug) == ("New", "old")


def test_organization_delete_deactivates_only_orphaned_provisioned_accounts():
    organization = OrganizationFactory()
    orphan = member(organization, provisioned=True).user
    elsewhere = member(organization, provisioned=True).user
    member(OrganizationFactory(), user=elsewhere)
    self_registered = member(organization).user

    services.organization_delete(organization=organization)

    for user in (orphan, elsewhere, self_registered):
        user.refresh_from_db()
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert (orphan.is_active, elsewhere.is_active, self_registered.is_active) == (False, True, True)


# ---------------------------------------------------------------- membership: add and change


def test_membership_add_refuses_an_existing_member():
    organization = OrganizationFactory()
    existing = member(organization)

    with pytest.raises(ValidationError) as exc_info:
        services.membership_add(organization=organization, user=existing.user, role=OrgRole.MEMBER)

    assert codes(exc_info) == {errors.ALREADY_MEMBER}


def test_membership_add_refuses_a_deactivated_account():
    with pytest.raises(ValidationError) as exc_info:
        services.membership_add(organization=OrganizationFactory(), user=UserFactory(is_active=False))

    assert codes(exc_info) == {errors.USER_INACTIVE}


def test_membership_add_by_an_admin_cannot_make_an_owner():
    organization = OrganizationFactory()
    admin = member(organization, OrgRole.ADMIN).user

    with pytest.raises(PermissionDenied) as exc_info:
        services.membership_add(organization=organization, user=UserFactory(), role=OrgRole.OWNER, actor=admin)

    assert codes(exc_info) == {errors.ROLE_GRANT_FORBIDDEN}


def test_membership_add_by_a_member_is_forbidden():
    organization = OrganizationFactory()
    plain = member(organization).user

    with pytest.raises(PermissionDenied) as exc_info:
        services.membership_add(organization=organization, user=UserFactory(), actor=plain)

    assert codes(exc_info) == {errors.ORG_ROLE_REQUIRED}
    assert organization.memberships.count() == 2


def test_membership_change_role_refuses_to_demote_the_last_owner():
    organization = OrganizationFactory()
    owner = organization.memberships.get()

    with pytest.raises(ValidationError) as exc_info:
        services.membership_change_role(membership=owner, role=OrgRole.ADMIN, actor=owner.user)

    assert codes(exc_info) == {errors.LAST_OWNER}
    owner.refresh_from_db()
    assert owner.role == OrgRole.OWNER


def test_membership_change_role_demotes_an_owner_when_another_active_owner_remains():
    organization = OrganizationFactory()
    owner = organization.memberships.get()
    member(organization, OrgRole.OWNER)

    services.membership_change_role(membership=owner, role=OrgRole.MEMBER, actor=owner.user)

    owner.refresh_from_db()
    assert owner.role == OrgRole.MEMBER


def test_membership_change_role_does_not_count_a_deactivated_owner():
    organization = OrganizationFactory()
    owner = organization.memberships.get()
    member(organization, OrgRole.OWNER, user=UserFactory(is_active=False))

    with pytest.raises(ValidationError) as exc_info:
        services.membership_change_role(membership=owner, role=OrgRole.ADMIN)

    assert codes(exc_info) == {errors.LAST_OWNER}


def test_membership_change_role_by_an_admin_cannot_touch_an_owner():
    organization = OrganizationFactory()
    second_owner = member(organization, OrgRole.OWNER)
    admin = member(organization, OrgRole.ADMIN).user

    with pytest.raises(PermissionDenied) as exc_info:
        services.membership_change_role(membership=second_owner, role=OrgRole.MEMBER, actor=admin)

    assert codes(exc_info) == {errors.MEMBER_PROTECTED}


def test_membership_change_role_by_an_admin_cannot_promote_itself_to_owner():
    organization = OrganizationFactory()
    admin = member(organization, OrgRole.ADMIN)

    with pytest.raises(PermissionDenied) as exc_info:
        services.membership_change_role(membership=admin, role=OrgRole.OWNER, actor=admin.user)

    assert codes(exc_info) == {errors.ROLE_GRANT_FORBIDDEN}


def test_membership_change_role_by_staff_needs_no_membership():
    organization = OrganizationFactory()
    plain = member(organization)

    services.membership_change_role(membership=plain, role=OrgRole.ADMIN, actor=UserFactory(role=Role.ADMIN))

    plain.refresh_from_db()
    assert plain.role == OrgRole.ADMIN


# ---------------------------------------------------------------- membership: remove and leave


def test_membership_remove_refuses_the_last_owner_leaving():
    organization = OrganizationFactory()
    owner = organization.memberships.get()

    with pytest.raises(ValidationError) as exc_info:
        services.membership_remove(membership=owner, actor=owner.user)

    assert codes(exc_info) == {errors.LAST_OWNER}
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_membership_remove_refuses_the_last_owner_even_for_staff():
    organization = OrganizationFactory()
    owner = organization.memberships.get()

    with pytest.raises(ValidationError) as exc_info:
        services.membership_remove(membership=owner, actor=UserFactory(role=Role.SUPERADMIN))

    assert codes(exc_info) == {errors.LAST_OWNER}


def test_membership_remove_lets_a_member_leave():
    organization = OrganizationFactory()
    plain = member(organization)

    services.membership_remove(membership=plain, actor=plain.user)

    assert not Membership.objects.filter(pk=plain.pk).exists()
    plain.user.refresh_from_db()
    assert plain.user.is_active


def test_membership_remove_by_a_member_of_someone_else_is_forbidden():
    organization = OrganizationFactory()
    plain, other = member(organization), member(organization)

    with pytest.raises(PermissionDenied):
        services.membership_remove(membership=other, actor=plain.user)

    assert Membership.objects.filter(pk=other.pk).exists()


def test_membership_remove_deactivates_a_provisioned_account_left_without_organization():
    organization = OrganizationFactory()
    owner = organization.memberships.get().user
    provisioned = member(organization, provisioned=True)

    services.membership_remove(membership=provisioned, actor=owner)

    provisioned.user.refresh_from_db()
    assert provisioned.user.is_active is False


def test_membership_remove_keeps_a_provisioned_account_that_belongs_elsewhere():
    organization = OrganizationFactory()
    provisioned = member(organization, provisioned=True)
    member(OrganizationFactory(), user=provisioned.user)

    services.membership_remove(membership=provisioned)

    provisioned.user.refresh_from_db()
    assert provisioned.user.is_active is True


# ---------------------------------------------------------------- ownership


def test_ownership_transfer_promotes_the_member_and_demotes_the_owner_to_admin():
    organization = OrganizationFactory()
    owner = organization.memberships.get()
    heir = member(organization)

    services.ownership_transfer(organization=organization, to_user=heir.user, actor=owner.user)

    owner.refresh_from_db()
    heir.refresh_from_db()
    assert (owner.role, heir.role) == (OrgRole.ADMIN, OrgRole.OWNER)


def test_ownership_transfer_refuses_a_non_member():
    organization = OrganizationFactory()
    owner = organization.memberships.get().user

    with pytest.raises(ValidationError) as exc_info:
        services.ownership_transfer(organization=organization, to_user=UserFactory(), actor=owner)

    assert codes(exc_info) == {errors.NOT_A_MEMBER}


def test_ownership_transfer_by_an_admin_is_forbidden():
    organization = OrganizationFactory()
    admin = member(organization, OrgRole.ADMIN)

    with pytest.raises(PermissionDenied):
        services.ownership_transfer(organization=organization, to_user=admin.user, actor=admin.user)

    admin.refresh_from_db()
    assert admin.role == OrgRole.ADMIN


def test_ownership_transfer_by_staff_appoints_an_extra_owner():
    organization = OrganizationFactory()
    owner = organization.memberships.get()
    heir = member(organization)

    services.ownership_transfer(organization=organization, to_user=heir.user, actor=UserFactory(role=Role.ADMIN))

    assert set(organization.memberships.filter(role=OrgRole.OWNER).values_list("pk", flat=True)) == {owner.pk, heir.pk}


# ---------------------------------------------------------------- users of an organization


def test_org_user_create_makes_a_provisioned_unverified_free_member(mailoutbox):
    organization = OrganizationFactory(created_by=UserFactory(plan=Plan.PREMIUM))

    user = services.org_user_create(
        organization=organization, email="New@Example.com", full_name="New", actor=organization.created_by
    )

    assert (user.email, user.plan, user.role, user.is_verified) == ("new@example.com", Plan.FREE, Role.USER, False)
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role, membership.provisioned) == (organization, OrgRole.MEMBER, True)
    assert [m.to for m in mailoutbox] == [["new@example.com"]]


def test_org_user_create_requires_premium():
    organization = OrganizationFactory(created_by=UserFactory(plan=Plan.PLUS))

    with pytest.raises(PermissionDenied) as exc_info:
        services.org_user_create(organization=organization, email="new@example.com", actor=organization.created_by)

    assert codes(exc_info) == {errors.PLAN_UPGRADE_REQUIRED}


def test_org_user_create_refuses_staff_only_fields_from_an_org_admin():
    organization = OrganizationFactory(created_by=UserFactory(plan=Plan.PREMIUM))

    with pytest.raises(PermissionDenied) as exc_info:
        services.org_user_create(
            organization=organization, email="new@example.com", plan=Plan.PREMIUM, actor=organization.created_by
        )

    assert codes(exc_info) == {errors.STAFF_ONLY}


def test_org_user_update_changes_the_email_only_of_provisioned_accounts():
    organization = OrganizationFactory(created_by=UserFactory(plan=Plan.PREMIUM))
    owner = organization.created_by
    provisioned = member(organization, provisioned=True).user
    self_registered = member(organization).user

    services.org_user_update(user=provisioned, actor=owner, data={"email": "moved@example.com"})
    with pytest.raises(PermissionDenied) as exc_info:
        services.org_user_update(user=self_registered, actor=owner, data={"email": "stolen@example.com"})

    provisioned.refresh_from_db()
    self_registered.refresh_from_db()
    assert provisioned.email == "moved@example.com"
    assert self_registered.email != "stolen@example.com"
    assert codes(exc_info) == {errors.EMAIL_CHANGE_FORBIDDEN}


def test_org_user_remove_removes_from_managed_organizations_only():
    organization = OrganizationFactory(created_by=UserFactory(plan=Plan.PREMIUM))
    target = member(organization).user
    elsewhere = member(OrganizationFactory(), user=target)

    services.org_user_remove(user=target, actor=organization.created_by)

    assert list(Membership.objects.filter(user=target)) == [elsewhere]


# ---------------------------------------------------------------- account deletion


def test_sole_owned_organizations_are_those_without_another_active_owner():
    user = UserFactory()
    alone = OrganizationFactory(created_by=user)
    with_inactive_co_owner = OrganizationFactory(created_by=user)
    member(with_inactive_co_owner, OrgRole.OWNER, user=UserFactory(is_active=False))
    shared = OrganizationFactory(created_by=user)
    member(shared, OrgRole.OWNER)
    admin_of = OrganizationFactory()
    member(admin_of, OrgRole.ADMIN, user=user)

    assert set(services.sole_owned_organizations(user)) == {alone, with_inactive_co_owner}


def test_last_owner_check_is_the_rule_of_leaving_demotion_and_account_deletion():
    user = UserFactory()
    alone = OrganizationFactory(created_by=user)
    shared = OrganizationFactory(created_by=user)
    member(shared, OrgRole.OWNER)

    services.last_owner_check(user=user, organization=shared)
    for check in (
        lambda: services.last_owner_check(user=user, organization=alone),
        lambda: services.last_owner_check(user=user),
        lambda: account_services.user_deactivate(user=user),
    ):
        with pytest.raises(ValidationError) as exc_info:
            check()
        assert codes(exc_info) == {errors.LAST_OWNER}


def test_user_deactivate_refuses_the_last_owner_of_an_organization():
    organization = OrganizationFactory()

    with pytest.raises(ValidationError) as exc_info:
        account_services.user_deactivate(user=organization.created_by)

    assert codes(exc_info) == {errors.LAST_OWNER}
    organization.created_by.refresh_from_db()
    assert organization.created_by.is_active


def test_user_deactivate_allows_an_owner_when_another_owner_remains():
    organization = OrganizationFactory()
    member(organization, OrgRole.OWNER)

    account_services.user_deactivate(user=organization.created_by)

    organization.created_by.refresh_from_db()
    assert organization.created_by.is_active is False
