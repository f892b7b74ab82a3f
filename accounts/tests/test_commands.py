"""Operator commands, run through call_command as `manage.py` would."""

from datetime import timedelta
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.errors import AccountLocked
from accounts.lockout import lockout_record_failure, lockout_seconds_left
from accounts.management.commands import seed_demo
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for
from assistants.models import Assistant, Message, RunStatus, Thread
from assistants.tests.factories import RunFactory
from organizations import services as org_services
from organizations.models import Invitation, Membership, Organization, OrgRole

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


# ---------------------------------------------------------------- unlock_user
ADDRESS = "203.0.113.9"


@pytest.fixture
def locked_user(client, settings):
    """An account locked by failed logins through the API, as an attacker would lock it."""
    settings.LOGIN_FAILURE_LIMIT = 1
    user = UserFactory()
    response = client.post(reverse("api:auth:login"), {"email": user.email, "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 429
    return user


def test_unlock_user_clears_the_account_lockout(locked_user):
    out = run("unlock_user", locked_user.email.upper())

    assert lockout_seconds_left(email=locked_user.email) == 0
    assert f"Cleared the login lockout of {locked_user.email}" in out


def test_unlock_user_clears_an_address_lockout(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 1
    for email in ("a@example.com", "b@example.com"):
        with pytest.raises(AccountLocked):
            lockout_record_failure(email=email, address=ADDRESS)
    assert lockout_seconds_left(address=ADDRESS) > 0

    run("unlock_user", address=ADDRESS)

    assert lockout_seconds_left(address=ADDRESS) == 0


def test_unlock_user_says_so_when_nothing_was_locked():
    assert "was not locked" in run("unlock_user", "nobody@example.com")


def test_unlock_user_needs_an_email_or_an_address():
    with pytest.raises(CommandError, match="email"):
        run("unlock_user")


# ---------------------------------------------------------------- seed_demo
def seeded_counts() -> dict:
    return {
        "users": User.objects.count(),
        "organizations": Organization.objects.count(),
        "memberships": Membership.objects.count(),
        "assistants": Assistant.objects.count(),
        "threads": Thread.objects.count(),
        "messages": Message.objects.count(),
    }


def test_seed_demo_creates_one_user_per_plan_and_role_and_prints_credentials():
    out = run("seed_demo", force=True)
    users = {user.email: user for user in User.objects.all()}
    assert {(u.role, u.plan) for u in users.values()} == {
        (Role.SUPERADMIN, Plan.PREMIUM),
        (Role.ADMIN, Plan.PREMIUM),
        (Role.USER, Plan.PREMIUM),
        (Role.USER, Plan.PLUS),
        (Role.USER, Plan.FREE),
    }
    for email, user in users.items():
        assert email in out
        assert user.is_verified and user.check_password(seed_demo.DEFAULT_PASSWORD)
    assert seed_demo.DEFAULT_PASSWORD in out
    assert "Demo data ready" in out


def test_seed_demo_builds_organizations_assistants_and_threads():
    run("seed_demo", force=True)
    acme = Organization.objects.get(name="Acme Demo")
    roles = dict(Membership.objects.filter(organization=acme).values_list("user__email", "role"))
    assert roles == {
        "premium@demo.bazar.test": OrgRole.OWNER,
        "plus@demo.bazar.test": OrgRole.ADMIN,
        "free@demo.bazar.test": OrgRole.MEMBER,
    }
    assert Assistant.objects.filter(organization__isnull=True, name="Bazar Guide").exists()
    assert Assistant.objects.get(name="Acme Support").organization == acme
    support_thread = Thread.objects.get(title="Quarterly report")
    assert support_thread.organization == acme
    assert list(support_thread.messages.values_list("role", flat=True)) == ["user", "assistant"]


def test_seed_demo_twice_duplicates_nothing_and_restores_demo_state():
    run("seed_demo", force=True)
    before = seeded_counts()
    free = User.objects.get(email="free@demo.bazar.test")
    free.is_blocked, free.plan = True, Plan.PREMIUM
    free.set_password("changed-by-someone")
    free.save()
    run("seed_demo", force=True)
    assert seeded_counts() == before
    free.refresh_from_db()
    assert (free.is_blocked, free.plan) == (False, Plan.FREE)
    assert free.check_password(seed_demo.DEFAULT_PASSWORD)


def test_seed_demo_refuses_to_run_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_runs_with_debug_on(settings):
    settings.DEBUG = True
    run("seed_demo", password="another-demo-passphrase")
    assert User.objects.get(email="admin@demo.bazar.test").check_password("another-demo-passphrase")


def test_seed_demo_rejects_weak_password_and_writes_nothing():
    with pytest.raises(CommandError):
        run("seed_demo", force=True, password="123")
    assert seeded_counts() == dict.fromkeys(seeded_counts(), 0)


# ---------------------------------------------------------------- purge_expired
def test_purge_expired_deletes_expired_invitations_and_tokens():
    owner = UserFactory()
    org = org_services.organization_create(name="Purge Co", created_by=owner)
    invite = partial(org_services.invitation_create, organization=org, invited_by=owner)
    live, expired, revoked_old, accepted_old = (invite(email=f"{n}@example.com") for n in ("live", "exp", "rev", "acc"))
    past = timezone.now() - timedelta(days=1)
    Invitation.objects.filter(pk__in=[expired.pk, revoked_old.pk, accepted_old.pk]).update(expires_at=past)
    Invitation.objects.filter(pk=revoked_old.pk).update(revoked_at=past)
    Invitation.objects.filter(pk=accepted_old.pk).update(accepted_at=past)
    token_pair_for(owner)
    token_pair_for(owner)
    OutstandingToken.objects.filter(pk=OutstandingToken.objects.first().pk).update(expires_at=past)

    out = run("purge_expired")

    assert set(Invitation.objects.values_list("pk", flat=True)) == {live.pk, accepted_old.pk}
    assert OutstandingToken.objects.count() == 1
    assert not OutstandingToken.objects.filter(expires_at__lte=timezone.now()).exists()
    assert "Purged 2 expired invitation(s) and 1 expired token(s); failed 0 stale run(s)." in out


def test_purge_expired_is_idempotent():
    run("purge_expired")
    assert "Purged 0 expired invitation(s) and 0 expired token(s); failed 0 stale run(s)." in run("purge_expired")


def test_purge_expired_fails_runs_a_dead_worker_left_in_progress():
    stale = RunFactory(status=RunStatus.IN_PROGRESS, started_at=timezone.now() - timedelta(hours=2))
    fresh = RunFactory(status=RunStatus.IN_PROGRESS, started_at=timezone.now() - timedelta(minutes=1))
    queued = RunFactory(status=RunStatus.QUEUED)

    out = run("purge_expired", stale_run_minutes=30)

    assert "failed 1 stale run(s)" in out
    stale.refresh_from_db(), fresh.refresh_from_db(), queued.refresh_from_db()
    assert (stale.status, fresh.status, queued.status) == (RunStatus.FAILED, RunStatus.IN_PROGRESS, RunStatus.QUEUED)
    assert stale.finished_at is not None and "worker stopped" in stale.error


def test_purge_expired_refuses_a_stale_window_under_a_minute():
    with pytest.raises(CommandError, match="at least 1"):
        run("purge_expired", stale_run_minutes=0)
