"""Pure policy, without a database: global roles and plans, quotas per plan, organization roles, and the permission
classes that combine them (fed with plain stand-ins for request, user and view). pytest-django refuses any query
here, so these also prove the policy never touches the ORM."""

from types import SimpleNamespace

import pytest
from django.http import Http404

from accounts.roles import Plan, Role, is_staff_role, limit_for, plan_at_least, role_at_least
from bazar.permissions import (
    IsOrgAdmin,
    IsOrgOwner,
    IsSelf,
    IsStaff,
    IsSuperAdmin,
    IsVerified,
    OrgRoleRequired,
    PlanRequired,
)
from organizations.roles import OrgRole, is_org_manager, may_grant, may_manage_member, org_role_at_least

PLANS = [Plan.FREE, Plan.PLUS, Plan.PREMIUM]
ROLES = [Role.USER, Role.ADMIN, Role.SUPERADMIN]
ORG_ROLES = [OrgRole.MEMBER, OrgRole.ADMIN, OrgRole.OWNER]


# ---------------------------------------------------------------- global roles and plans


@pytest.mark.parametrize(("i", "plan"), list(enumerate(PLANS)))
@pytest.mark.parametrize(("j", "minimum"), list(enumerate(PLANS)))
def test_plan_at_least_follows_free_plus_premium(i, plan, j, minimum):
    assert plan_at_least(plan, minimum) is (i >= j)


@pytest.mark.parametrize(("i", "role"), list(enumerate(ROLES)))
@pytest.mark.parametrize(("j", "minimum"), list(enumerate(ROLES)))
def test_role_at_least_follows_user_admin_superadmin(i, role, j, minimum):
    assert role_at_least(role, minimum) is (i >= j)


def test_is_staff_role_is_admin_and_superadmin():
    assert [is_staff_role(role) for role in ROLES] == [False, True, True]


def test_policy_refuses_unknown_values():
    with pytest.raises(ValueError):
        plan_at_least("GOLD", Plan.FREE)
    with pytest.raises(ValueError):
        org_role_at_least("KING", OrgRole.MEMBER)


def test_limit_for_reads_the_plan_limits_setting(settings):
    settings.PLAN_LIMITS = {
        "FREE": {"runs_per_day": 0, "storage_bytes": 0},
        "PLUS": {"runs_per_day": 10, "storage_bytes": None},
        "PREMIUM": {"runs_per_day": None, "storage_bytes": 5},
    }

    assert [limit_for(plan, "runs_per_day") for plan in PLANS] == [0, 10, None]
    assert limit_for(Plan.PREMIUM, "storage_bytes") == 5
    with pytest.raises(KeyError):
        limit_for(Plan.FREE, "unknown_resource")


def test_default_plan_limits_grow_with_the_plan(settings):
    for resource in ("runs_per_day", "storage_bytes"):
        limits = [limit_for(plan, resource) for plan in PLANS]
        as_numbers = [float("inf") if limit is None else limit for limit in limits]
        assert as_numbers == sorted(as_numbers), (resource, limits)


# ---------------------------------------------------------------- organization roles


@pytest.mark.parametrize(("i", "role"), list(enumerate(ORG_ROLES)))
@pytest.mark.parametrize(("j", "minimum"), list(enumerate(ORG_ROLES)))
def test_org_role_at_least_follows_member_admin_owner(i, role, j, minimum):
    assert org_role_at_least(role, minimum) is (i >= j)


def test_org_role_at_least_is_false_for_non_members():
    assert org_role_at_least(None, OrgRole.MEMBER) is False


def test_org_managers_are_owners_and_admins():
    assert [is_org_manager(role) for role in [None, *ORG_ROLES]] == [False, False, True, True]


# Rows: the actor's role; columns: the member's role (MEMBER, ADMIN, OWNER).
MANAGE = {
    None: [False, False, False],
    OrgRole.MEMBER: [False, False, False],
    OrgRole.ADMIN: [True, True, False],
    OrgRole.OWNER: [True, True, True],
}


@pytest.mark.parametrize("actor_role", MANAGE)
def test_may_manage_member_and_may_grant(actor_role):
    assert [may_manage_member(actor_role, role) for role in ORG_ROLES] == MANAGE[actor_role]
    assert [may_grant(actor_role, role) for role in ORG_ROLES] == MANAGE[actor_role]


# ---------------------------------------------------------------- permission classes


def user(role=Role.USER, plan=Plan.FREE, verified=True, pk="u1"):
    return SimpleNamespace(
        pk=pk,
        is_authenticated=True,
        role=role,
        plan=plan,
        is_verified=verified,
        is_staff=is_staff_role(role),
    )


ANONYMOUS = SimpleNamespace(is_authenticated=False)


def allowed(permission, caller, **view) -> bool:
    return permission().has_permission(SimpleNamespace(user=caller), SimpleNamespace(**view))


def test_is_staff_and_is_superadmin():
    assert [allowed(IsStaff, user(role)) for role in ROLES] == [False, True, True]
    assert [allowed(IsSuperAdmin, user(role)) for role in ROLES] == [False, False, True]
    assert not allowed(IsStaff, ANONYMOUS)


def test_plan_required_reads_one_plan_or_a_map_per_action():
    per_action = {"required_plan": {"create": Plan.PREMIUM}, "action": "create"}

    assert [allowed(PlanRequired, user(plan=plan), required_plan=Plan.PLUS) for plan in PLANS] == [False, True, True]
    assert [allowed(PlanRequired, user(plan=plan), **per_action) for plan in PLANS] == [False, False, True]
    assert allowed(PlanRequired, user(), required_plan={"create": Plan.PREMIUM}, action="list")
    assert allowed(PlanRequired, user(Role.ADMIN), required_plan=Plan.PREMIUM)
    assert not allowed(PlanRequired, ANONYMOUS, required_plan=None)


def test_is_verified():
    assert allowed(IsVerified, user())
    assert not allowed(IsVerified, user(verified=False))


@pytest.mark.parametrize(
    ("permission", "expected"), [(IsOrgAdmin, [False, True, True]), (IsOrgOwner, [False, False, True])]
)
def test_org_role_permissions_compare_the_callers_role(permission, expected):
    results = [allowed(permission, user(), get_org_role=lambda role=role: role) for role in ORG_ROLES]

    assert results == expected
    assert not allowed(permission, user(), get_org_role=lambda: None)
    assert allowed(permission, user(Role.ADMIN), get_org_role=lambda: None)


def test_org_role_required_reads_the_view_per_action():
    view = {"required_org_role": {"destroy": OrgRole.OWNER}, "get_org_role": lambda: OrgRole.ADMIN}

    assert allowed(OrgRoleRequired, user(), action="retrieve", **view)
    assert not allowed(OrgRoleRequired, user(), action="destroy", **view)


def test_org_role_required_lets_the_views_404_through():
    def out_of_scope():
        raise Http404

    with pytest.raises(Http404):
        allowed(IsOrgAdmin, user(Role.ADMIN), get_org_role=out_of_scope)


def test_is_self_compares_the_url_with_the_caller():
    view = {"lookup_url_kwarg": "user_id", "lookup_field": "user"}

    assert allowed(IsSelf, user(pk="u1"), kwargs={"user_id": "u1"}, **view)
    assert not allowed(IsSelf, user(pk="u1"), kwargs={"user_id": "u2"}, **view)
