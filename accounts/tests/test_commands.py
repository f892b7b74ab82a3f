"""Operator commands, run through call_command as `manage.py` would."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# ---------------------------------------------------------------- ensure_superadmin
def test_ensure_superadmin_creates_verified_superadmin_from_settings(settings):
    settings.SUPERUSER_EMAIL, settings.SUPERUSER_PASSWORD = "Root@Bazar.test", "a-long-root-passphrase"
    out = run("ensure_superadmin")
    user = User.objects.get(email="root@bazar.test")
    assert "Created superadmin root@bazar.test" in out
    assert user.role == Role.SUPERADMIN and user.is_verified and user.check_password("a-long-root-passphrase")


def test_ensure_superadmin_refreshes_existing_account_when_run_again():
    user = UserFactory(role=Role.USER, is_blocked=True, blocked_reason="spam")
    out = run("ensure_superadmin", email=user.email, password="another-long-passphrase")
    user.refresh_from_db()
    assert "Refreshed superadmin" in out
    assert (user.role, user.is_blocked) == (Role.SUPERADMIN, False)
    assert user.check_password("another-long-passphrase")
    assert User.objects.filter(email=user.email).count() == 1


def test_ensure_superadmin_fails_without_credentials(settings):
    settings.SUPERUSER_EMAIL, settings.SUPERUSER_PASSWORD = "", ""
    with pytest.raises(CommandError, match="SUPERUSER_EMAIL"):
        run("ensure_superadmin")


def test_ensure_superadmin_fails_on_weak_password():
    with pytest.raises(CommandError):
        run("ensure_superadmin", email="root@bazar.test", password="123")
    assert not User.objects.filter(email="root@bazar.test").exists()


# ---------------------------------------------------------------- set_role / set_plan
def test_set_role_changes_role_case_insensitively():
    user = UserFactory(email="ops@example.com")
    out = run("set_role", "OPS@example.com", "ADMIN")
    user.refresh_from_db()
    assert user.role == Role.ADMIN and user.is_staff and not user.is_superuser
    assert "ops@example.com is now ADMIN" in out


def test_set_role_is_idempotent():
    user = UserFactory(role=Role.ADMIN)
    assert "already ADMIN" in run("set_role", user.email, "ADMIN")
    user.refresh_from_db()
    assert user.role == Role.ADMIN


def test_set_role_refuses_unknown_role():
    user = UserFactory()
    with pytest.raises(CommandError, match="invalid choice"):
        run("set_role", user.email, "OWNER")
    user.refresh_from_db()
    assert user.role == Role.USER


def test_set_role_refuses_unknown_email():
    with pytest.raises(CommandError, match="No user with email"):
        run("set_role", "ghost@example.com", "ADMIN")


def test_set_plan_changes_plan():
    user = UserFactory(plan=Plan.FREE)
    out = run("set_plan", user.email, "PREMIUM")
    user.refresh_from_db()
    assert user.plan == Plan.PREMIUM
    assert "is now on PREMIUM" in out


def test_set_plan_is_idempotent():
    user = UserFactory(plan=Plan.PLUS)
    assert "already on PLUS" in run("set_plan", user.email, "PLUS")


def test_set_plan_refuses_unknown_plan():
    user = UserFactory()
    with pytest.raises(CommandError, match="invalid choice"):
        run("set_plan", user.email, "GOLD")


def test_set_plan_refuses_unknown_email():
    with pytest.raises(CommandError, match="No user with email"):
        run("set_plan", "ghost@example.com", "PLUS")


# ---------------------------------------------------------------- block_user / unblock_user
def test_block_user_blocks_with_reason():
    user = UserFactory()
    out = run("block_user", user.email, reason="chargeback fraud")
    user.refresh_from_db()
    assert user.is_blocked and user.blocked_reason == "chargeback fraud" and user.blocked_at is not None
    assert f"Blocked {user.email}" in out


def test_block_user_is_idempotent_and_keeps_first_reason():
    user = UserFactory(is_blocked=True, blocked_reason="spam")
    assert "already blocked (spam)" in run("block_user", user.email, reason="other")
    user.refresh_from_db()
    assert user.blocked_reason == "spam"


def test_block_user_requires_a_reason():
    user = UserFactory()
    with pytest.raises(CommandError):
        run("block_user", user.email)
    with pytest.raises(CommandError, match="non-empty"):
        run("block_user", user.email, reason="  ")
    user.refresh_from_db()
    assert not user.is_blocked


def test_block_user_refuses_unknown_email():
    with pytest.raises(CommandError, match="No user with email"):
        run("block_user", "ghost@example.com", reason="x")


def test_unblock_user_unblocks():
    user = UserFactory(is_blocked=True, blocked_reason="spam")
    out = run("unblock_user", user.email)
    user.refresh_from_db()
    assert (user.is_blocked, user.blocked_reason, user.blocked_at) == (False, "", None)
    assert f"Unblocked {user.email}" in out


def test_unblock_user_is_idempotent():
    user = UserFactory()
    assert "is not blocked" in run("unblock_user", user.email)


def test_unblock_user_refuses_unknown_email():
    with pytest.raises(CommandError, match="No user with email"):
        run("unblock_user", "ghost@example.com")
