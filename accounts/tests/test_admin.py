"""The user admin: saves and actions go through the services; role stays the one source of truth."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import admin as accounts_admin
from accounts.lockout import lockout_seconds_left
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_user_changelist"


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def change_data(user: User, **overrides) -> dict:
    """The change form as the browser posts it for `user` (read-only fields are not posted)."""
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "plan": user.plan,
        "blocked_reason": user.blocked_reason,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    if user.is_blocked:
        data["is_blocked"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.fixture
def superadmin_client(client, superadmin):
    client.force_login(superadmin)
    return client


@pytest.fixture
def staff_client(client, staff_admin):
    client.force_login(staff_admin)
    return client


# ---------------------------------------------------------------- pages and search
def test_user_changelist_search_finds_by_email_and_name(superadmin_client):
    UserFactory(email="needle@example.com", full_name="Ada Lovelace")
    UserFactory(email="hay@example.com", full_name="Someone Else")
    by_email = superadmin_client.get(reverse(CHANGELIST), {"q": "needle"})
    by_name = superadmin_client.get(reverse(CHANGELIST), {"q": "lovelace"})
    assert by_email.status_code == by_name.status_code == 200
    assert by_email.context["cl"].result_count == by_name.context["cl"].result_count == 1
    assert "hay@example.com" not in by_email.content.decode()


def test_user_change_form_offers_no_staff_or_group_fields(superadmin_client, free_user):
    form = superadmin_client.get(change_url(free_user)).context["adminform"].form
    assert {"is_staff", "is_superuser", "groups", "user_permissions"}.isdisjoint(form.fields)
    assert "role" in form.fields


# ---------------------------------------------------------------- add through user_create
def test_user_add_creates_through_service_and_sends_verification(superadmin_client):
    response = superadmin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "role": Role.ADMIN,
            "plan": Plan.PLUS,
            "usable_password": "true",
            "password1": "a-fine-long-password",
            "password2": "a-fine-long-password",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.com")
    assert (user.role, user.plan, user.is_verified) == (Role.ADMIN, Plan.PLUS, False)
    assert user.check_password("a-fine-long-password")
    assert [m.to for m in mail.outbox] == [["new.person@example.com"]]
    assert response["Location"] == change_url(user)


def test_user_add_rejects_email_taken_in_other_case(superadmin_client):
    UserFactory(email="taken@example.com")
    response = superadmin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "TAKEN@example.com", "role": Role.USER, "plan": Plan.FREE, "usable_password": "false"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_user_add_rejects_weak_password(superadmin_client):
    response = superadmin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "weak@example.com",
            "role": Role.USER,
            "plan": Plan.FREE,
            "usable_password": "true",
            "password1": "12345678",
            "password2": "12345678",
        },
    )
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="weak@example.com").exists()


def test_user_add_is_not_offered_to_staff_admin(staff_client):
    assert staff_client.get(reverse("admin:accounts_user_add")).status_code == 403


# ---------------------------------------------------------------- change through user_update
def test_superadmin_changes_role_and_plan_through_form(superadmin_client, free_user):
    response = superadmin_client.post(change_url(free_user), change_data(free_user, role=Role.ADMIN, plan=Plan.PREMIUM))
    assert response.status_code == 302
    free_user.refresh_from_db()
    assert (free_user.role, free_user.plan, free_user.is_staff) == (Role.ADMIN, Plan.PREMIUM, True)


def test_superadmin_cannot_change_own_role(superadmin_client, superadmin):
    form = superadmin_client.get(change_url(superadmin)).context["adminform"].form
    assert "role" not in form.fields
    superadmin_client.post(change_url(superadmin), change_data(superadmin, role=Role.USER))
    superadmin.refresh_from_db()
    assert superadmin.role == Role.SUPERADMIN


def test_staff_admin_cannot_change_roles(staff_client, free_user):
    form = staff_client.get(change_url(free_user)).context["adminform"].form
    assert "role" not in form.fields
    response = staff_client.post(change_url(free_user), change_data(free_user, role=Role.SUPERADMIN, plan=Plan.PLUS))
    assert response.status_code == 302
    free_user.refresh_from_db()
    assert (free_user.role, free_user.plan) == (Role.USER, Plan.PLUS)


def test_staff_admin_sees_superadmin_read_only(staff_client, superadmin):
    page = staff_client.get(change_url(superadmin))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = staff_client.post(change_url(superadmin), change_data(superadmin, plan=Plan.FREE, full_name="hacked"))
    assert response.status_code == 403
    superadmin.refresh_from_db()
    assert superadmin.full_name != "hacked"


def test_change_form_block_requires_reason(superadmin_client, free_user):
    response = superadmin_client.post(change_url(free_user), change_data(free_user, is_blocked="on"))
    assert response.status_code == 200
    assert accounts_admin.BLOCK_REASON_REQUIRED in response.context["adminform"].form.errors["blocked_reason"]
    free_user.refresh_from_db()
    assert not free_user.is_blocked


def test_change_form_block_with_reason_sets_blocked_at(superadmin_client, free_user):
    superadmin_client.post(change_url(free_user), change_data(free_user, is_blocked="on", blocked_reason="abuse"))
    free_user.refresh_from_db()
    assert free_user.is_blocked and free_user.blocked_reason == "abuse" and free_user.blocked_at is not None


def test_change_form_email_change_is_normalized_and_unverifies(superadmin_client, free_user):
    superadmin_client.post(change_url(free_user), change_data(free_user, email="Moved@Example.com"))
    free_user.refresh_from_db()
    assert (free_user.email, free_user.is_verified) == ("moved@example.com", False)
    assert [m.to for m in mail.outbox] == [["moved@example.com"]]


def test_user_delete_is_never_offered(superadmin_client, free_user):
    assert superadmin_client.get(reverse("admin:accounts_user_delete", args=[free_user.pk])).status_code == 403
    actions = superadmin_client.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices
    assert "delete_selected" not in dict(actions)


def test_password_change_revokes_tokens(superadmin_client, free_user):
    version = free_user.token_version
    response = superadmin_client.post(
        reverse("admin:auth_user_password_change", args=[free_user.pk]),
        {"password1": "brand-new-passphrase", "password2": "brand-new-passphrase", "usable_password": "true"},
    )
    assert response.status_code == 302
    free_user.refresh_from_db()
    assert free_user.check_password("brand-new-passphrase")
    assert free_user.token_version == version + 1


# ---------------------------------------------------------------- actions
def post_action(client, action: str, users, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(u.pk) for u in users], **extra}
    return client.post(reverse(CHANGELIST), data)


def test_block_action_asks_for_a_reason_first(superadmin_client, free_user):
    response = post_action(superadmin_client, "block_users", [free_user], index="0")
    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    assert free_user.email in response.content.decode()
    free_user.refresh_from_db()
    assert not free_user.is_blocked


def test_block_action_with_reason_blocks(superadmin_client, free_user, plus_user):
    response = post_action(superadmin_client, "block_users", [free_user, plus_user], reason="spam wave", apply="Block")
    assert response.status_code == 302
    blocked = User.objects.filter(is_blocked=True, blocked_reason="spam wave")
    assert set(blocked) == {free_user, plus_user}


def test_block_action_without_reason_shows_form_again(superadmin_client, free_user):
    response = post_action(superadmin_client, "block_users", [free_user], reason="", apply="Block")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    free_user.refresh_from_db()
    assert not free_user.is_blocked


def test_block_action_skips_self(superadmin_client, superadmin, free_user):
    response = post_action(superadmin_client, "block_users", [superadmin, free_user], reason="x", apply="Block")
    superadmin.refresh_from_db()
    free_user.refresh_from_db()
    assert not superadmin.is_blocked and free_user.is_blocked
    page = superadmin_client.get(response["Location"])
    assert any(accounts_admin.SELF_ACTION_REFUSED in m for m in messages_of(page))


def test_block_action_by_staff_admin_skips_superadmins(staff_client, superadmin, free_user):
    post_action(staff_client, "block_users", [superadmin, free_user], reason="x", apply="Block")
    superadmin.refresh_from_db()
    free_user.refresh_from_db()
    assert not superadmin.is_blocked and free_user.is_blocked


def test_unblock_action_unblocks(superadmin_client):
    user = UserFactory(is_blocked=True, blocked_reason="spam")
    post_action(superadmin_client, "unblock_users", [user], index="0")
    user.refresh_from_db()
    assert (user.is_blocked, user.blocked_reason) == (False, "")


def test_verify_action_verifies(superadmin_client):
    user = UserFactory(is_verified=False, verified_at=None)
    post_action(superadmin_client, "verify_users", [user], index="0")
    user.refresh_from_db()
    assert user.is_verified and user.verified_at is not None


def test_set_plan_action_sets_plan(staff_client, free_user, plus_user):
    first = post_action(staff_client, "set_plan", [free_user, plus_user], index="0")
    assert first.status_code == 200 and "plan" in first.context["form"].fields
    post_action(staff_client, "set_plan", [free_user, plus_user], plan=Plan.PREMIUM, apply="Set plan")
    assert set(User.objects.filter(plan=Plan.PREMIUM)) == {free_user, plus_user}


def test_deactivate_action_deactivates_and_revokes(superadmin_client, free_user):
    version = free_user.token_version
    post_action(superadmin_client, "deactivate_users", [free_user], index="0")
    free_user.refresh_from_db()
    assert not free_user.is_active and not free_user.has_usable_password()
    assert free_user.token_version == version + 1


def test_clear_login_lockout_action_unlocks_selected_accounts_only(
    superadmin_client, api_client, free_user, plus_user, password, settings
):
    settings.LOGIN_FAILURE_LIMIT = 1
    login = reverse("api:auth:login")
    for user in (free_user, plus_user):
        locked = api_client.post(login, {"email": user.email, "password": "wrong"})
        assert locked.status_code == 429

    response = post_action(superadmin_client, "clear_login_lockout", [free_user])

    assert response.status_code == 302
    assert lockout_seconds_left(email=free_user.email) == 0
    assert lockout_seconds_left(email=plus_user.email) > 0
    assert api_client.post(login, {"email": free_user.email, "password": password}).status_code == 200


# ---------------------------------------------------------------- token tables: never the token itself
@pytest.fixture
def issued_refresh(free_user) -> OutstandingToken:
    token_pair_for(free_user)
    outstanding = OutstandingToken.objects.get(user=free_user)
    BlacklistedToken.objects.create(token=outstanding)
    return outstanding


@pytest.mark.parametrize("model", [OutstandingToken, BlacklistedToken], ids=lambda model: model.__name__)
def test_token_admin_pages_never_show_the_token(superadmin_client, issued_refresh, model):
    obj = issued_refresh if model is OutstandingToken else issued_refresh.blacklistedtoken
    name = f"admin:token_blacklist_{model._meta.model_name}"

    pages = [
        superadmin_client.get(reverse(f"{name}_changelist")),
        superadmin_client.get(reverse(f"{name}_change", args=[obj.pk])),
    ]

    for page in pages:
        assert page.status_code == 200
        assert issued_refresh.jti in page.content.decode()
        assert issued_refresh.token not in page.content.decode()


@pytest.mark.parametrize("model", [OutstandingToken, BlacklistedToken], ids=lambda model: model.__name__)
def test_token_admin_is_view_only(superadmin_client, issued_refresh, model):
    obj = issued_refresh if model is OutstandingToken else issued_refresh.blacklistedtoken
    name = f"admin:token_blacklist_{model._meta.model_name}"

    assert superadmin_client.get(reverse(f"{name}_add")).status_code == 403
    assert superadmin_client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert BlacklistedToken.objects.filter(token=issued_refresh).exists()


# ---------------------------------------------------------------- who gets in
def test_blocked_staff_session_is_dropped(client, staff_admin):
    client.force_login(staff_admin)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    User.objects.filter(pk=staff_admin.pk).update(is_blocked=True)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.parametrize(
    ("role", "blocked", "allowed"),
    [
        (Role.USER, False, False),
        (Role.ADMIN, False, True),
        (Role.ADMIN, True, False),
        (Role.SUPERADMIN, False, True),
    ],
)
def test_admin_login_follows_role_and_block(client, password, role, blocked, allowed):
    user = UserFactory(role=role, is_blocked=blocked)
    response = client.post(reverse("admin:login"), {"username": user.email, "password": password, "next": "/admin/"})
    logged_in = response.status_code == 302 and response["Location"] == "/admin/"
    assert logged_in is allowed
    assert (client.get(reverse("admin:index")).status_code == 200) is allowed
