"""Every account write that carries a rule. The API, the admin, commands and tests all call these."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import emails, errors, lockout, tokens
from accounts.models import User
from accounts.roles import Plan, Role

EMAIL_TAKEN_MESSAGE = "An account with this email already exists."
WRONG_PASSWORD_MESSAGE = "The current password is incorrect."
LAST_SUPERADMIN_MESSAGE = "This is the last active superadmin. Make another account SUPERADMIN first."


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _ensure_email_free(email: str, *, exclude: User | None = None) -> None:
    qs = User.objects.filter(email__iexact=email)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        raise ValidationError({"email": ValidationError(EMAIL_TAKEN_MESSAGE, code=errors.EMAIL_TAKEN)})


def _validate_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc


def _ensure_other_superadmin(user: User) -> None:
    """The platform keeps an active, unblocked SUPERADMIN: the last one is not demoted."""
    if user.role != Role.SUPERADMIN or not user.is_active or user.is_blocked:
        return
    # Lock every active superadmin row, so that two superadmins cannot demote each other at the same time.
    usable = User.objects.select_for_update().filter(role=Role.SUPERADMIN, is_active=True, is_blocked=False)
    if not [pk for pk in usable.order_by("pk").values_list("pk", flat=True) if pk != user.pk]:
        raise ValidationError(LAST_SUPERADMIN_MESSAGE, code=errors.LAST_SUPERADMIN)


def _check_actor_may_manage(actor: User | None, target: User) -> None:
    """ADMIN staff may not change SUPERADMIN accounts; None is the system (commands)."""
    if actor is not None and target.role == Role.SUPERADMIN and actor.role != Role.SUPERADMIN:
        raise errors.SuperadminProtected()


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    full_name: str = "",
    role: str = Role.USER,
    plan: str = Plan.FREE,
    is_verified: bool = False,
    send_verification: bool = True,
    actor: User | None = None,
) -> User:
    """Create an account; unverified accounts get a verification email. A None password is unusable."""
    if role != Role.USER and actor is not None and actor.role != Role.SUPERADMIN:
        raise errors.RoleChangeForbidden()
    email = normalize_email(email)
    _ensure_email_free(email)
    user = User(email=email, full_name=full_name, role=Role(role), plan=Plan(plan))
    if is_verified:
        user.is_verified, user.verified_at = True, timezone.now()
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # A concurrent sign-up with the same email won the race; the unique index decided.
        raise ValidationError({"email": ValidationError(EMAIL_TAKEN_MESSAGE, code=errors.EMAIL_TAKEN)}) from exc
    if send_verification and not user.is_verified:
        emails.send_verification_email.enqueue(str(user.pk))
    return user


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """Self-service sign-up: always a USER on the FREE plan."""
    return user_create(email=email, password=password, full_name=full_name)


def user_login(*, email: str, password: str, request=None) -> User:
    """The user for these credentials, or InvalidCredentials / AccountBlocked / EmailNotVerified; AccountLocked
    once the account or the client address has failed too often (accounts/lockout.py)."""
    email, address = normalize_email(email), lockout.client_address(request)
    lockout.lockout_check(email=email, address=address)
    user = authenticate(request, email=email, password=password)
    if user is None:
        # Blocked users fail authenticate(); tell them apart only once the password is known to be right.
        candidate = User.objects.filter(email__iexact=email, is_active=True, is_blocked=True).first()
        if candidate is not None and candidate.check_password(password):
            raise errors.AccountBlocked()
        lockout.lockout_record_failure(email=email, address=address)
        raise errors.InvalidCredentials()
    lockout.lockout_record_success(email=email)
    if settings.REQUIRE_EMAIL_VERIFICATION and not user.is_verified:
        raise errors.EmailNotVerified()
    return user


def tokens_revoke_all(*, user: User) -> None:
    """Refuse every token issued so far: bump the version claim and blacklist outstanding refresh tokens."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)


def verification_resend(*, email: str) -> None:
    """Send a new verification email if such an unverified account exists; silent either way."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True, is_verified=False).first()
    if user is not None:
        emails.send_verification_email.enqueue(str(user.pk))


@transaction.atomic
def email_verify(*, token: str) -> User:
    user = tokens.read_email_token(token, tokens.VERIFY_EMAIL, settings.EMAIL_VERIFICATION_TIMEOUT)
    return user_mark_verified(user=user)


def user_mark_verified(*, user: User) -> User:
    if not user.is_verified:
        user.is_verified, user.verified_at = True, timezone.now()
        user.save(update_fields=["is_verified", "verified_at", "updated_at"])
    return user


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the account exists; silent either way."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is not None and not user.is_blocked:
        emails.send_password_reset_email.enqueue(str(user.pk))


@transaction.atomic
def password_reset_confirm(*, token: str, password: str) -> User:
    user = tokens.read_email_token(token, tokens.RESET_PASSWORD, settings.PASSWORD_RESET_TIMEOUT)
    _validate_password(password, user)
    user.set_password(password)
    # Following the emailed link proves the address is theirs.
    if not user.is_verified:
        user.is_verified, user.verified_at = True, timezone.now()
    user.save(update_fields=["password", "is_verified", "verified_at", "updated_at"])
    tokens_revoke_all(user=user)
    return user


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str) -> User:
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ValidationError(WRONG_PASSWORD_MESSAGE, code=errors.WRONG_PASSWORD)})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.error_list}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    tokens_revoke_all(user=user)
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str | None, actor: User | None = None) -> User:
    """Staff set a password (None disables password login); tokens issued before stop working."""
    _check_actor_may_manage(actor, user)
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    tokens_revoke_all(user=user)
    return user


PROFILE_FIELDS = frozenset({"full_name", "email"})


@transaction.atomic
def user_update(*, user: User, actor: User | None, data: dict) -> User:
    """Update profile fields (and, for staff, plan/role/block). Rules on who may change what live here."""
    _check_actor_may_manage(actor, user)
    email_changed = "email" in data and normalize_email(data["email"]) != user.email
    if email_changed:
        email = normalize_email(data["email"])
        _ensure_email_free(email, exclude=user)
        user.email, user.is_verified, user.verified_at = email, False, None
    if "full_name" in data:
        user.full_name = data["full_name"]
    user.save()
    if email_changed:
        # After the save: the task reads the account, and must see the new, unverified address.
        emails.send_verification_email.enqueue(str(user.pk))
    if "role" in data and data["role"] != user.role:
        user_set_role(user=user, role=data["role"], actor=actor)
    if "plan" in data and data["plan"] != user.plan:
        user_set_plan(user=user, plan=data["plan"], actor=actor)
    if "is_blocked" in data and data["is_blocked"] != user.is_blocked:
        if data["is_blocked"]:
            user_block(user=user, reason=data.get("blocked_reason", ""), actor=actor)
        else:
            user_unblock(user=user, actor=actor)
    elif "blocked_reason" in data and user.is_blocked:
        user.blocked_reason = data["blocked_reason"]
        user.save(update_fields=["blocked_reason", "updated_at"])
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User | None = None) -> User:
    if actor is not None and actor.role != Role.SUPERADMIN:
        raise errors.RoleChangeForbidden()
    if role != Role.SUPERADMIN:
        _ensure_other_superadmin(user)
    user.role = Role(role)
    user.save(update_fields=["role", "updated_at"])
    return user


@transaction.atomic
def user_set_plan(*, user: User, plan: str, actor: User | None = None) -> User:
    _check_actor_may_manage(actor, user)
    user.plan = Plan(plan)
    user.save(update_fields=["plan", "updated_at"])
    return user


@transaction.atomic
def user_block(*, user: User, reason: str = "", actor: User | None = None) -> User:
    _check_actor_may_manage(actor, user)
    user.is_blocked, user.blocked_reason, user.blocked_at = True, reason, timezone.now()
    user.save(update_fields=["is_blocked", "blocked_reason", "blocked_at", "updated_at"])
    return user


@transaction.atomic
def user_unblock(*, user: User, actor: User | None = None) -> User:
    _check_actor_may_manage(actor, user)
    user.is_blocked, user.blocked_reason, user.blocked_at = False, "", None
    user.save(update_fields=["is_blocked", "blocked_reason", "blocked_at", "updated_at"])
    return user


def _ensure_no_sole_ownership(user: User) -> None:
    """An account that is the last active OWNER of an organization cannot go: every organization keeps an owner."""
    from organizations.services import last_owner_check

    last_owner_check(user=user)


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None = None) -> User:
    """Delete an account: deactivate it (rows that reference it stay consistent) and revoke its tokens."""
    _check_actor_may_manage(actor, user)
    _ensure_no_sole_ownership(user)
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["is_active", "password", "updated_at"])
    tokens_revoke_all(user=user)
    return user


@transaction.atomic
def superadmin_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """Create the superadmin, or bring an existing account back to SUPERADMIN with this password."""
    email = normalize_email(email)
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email)
    _validate_password(password, user)
    user.role, user.is_active, user.is_blocked, user.blocked_reason = Role.SUPERADMIN, True, False, ""
    if not user.is_verified:
        user.is_verified, user.verified_at = True, timezone.now()
    if created or not user.check_password(password):
        user.set_password(password)
    user.save()
    return user, created
