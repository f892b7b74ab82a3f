"""Every organization, membership and invitation write that carries a rule. The API, the admin, commands and
tests all call these.

`actor` is the user asking; None is the system (commands, data fixes) and skips the checks on who may act.
Refusals that depend on the actor are 403 (`errors.forbidden`); bad or conflicting input is a Django
ValidationError with a code (400).
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts import services as account_services
from accounts.models import User
from accounts.roles import Plan, Role, plan_at_least
from organizations import emails, errors
from organizations.models import Invitation, InvitationStatus, Membership, Organization, OrgRole
from organizations.roles import MANAGER_ROLES, is_org_manager, may_grant, may_manage_member

SLUG_ATTEMPTS = 5


# ---------------------------------------------------------------- helpers


def invitation_token_hash(token: str) -> str:
    """What is stored for an invitation token: its sha256, never the token itself."""
    return hashlib.sha256(str(token).encode()).hexdigest()


def _new_token_hash() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, invitation_token_hash(token)


def _lock(organization: Organization) -> None:
    """Serialize membership changes of one organization, so that two concurrent demotions cannot both pass the
    last-owner check."""
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()


def _role_of(user: User, organization: Organization) -> str | None:
    return Membership.objects.filter(organization=organization, user=user).values_list("role", flat=True).first()


def _authorize(
    organization: Organization, actor: User | None, *, grant: str | None = None, manage: str | None = None
) -> None:
    """The actor is an OWNER/ADMIN of the organization who may give role `grant` and manage a member holding
    `manage`. Staff and the system (None) always may."""
    if actor is None or actor.is_staff:
        return
    role = _role_of(actor, organization)
    if not is_org_manager(role):
        raise errors.forbidden(errors.ORG_ROLE_REQUIRED_MESSAGE, errors.ORG_ROLE_REQUIRED)
    if grant is not None and not may_grant(role, grant):
        raise errors.forbidden(errors.ROLE_GRANT_FORBIDDEN_MESSAGE, errors.ROLE_GRANT_FORBIDDEN)
    if manage is not None and not may_manage_member(role, manage):
        raise errors.forbidden(errors.MEMBER_PROTECTED_MESSAGE, errors.MEMBER_PROTECTED)


def _valid_role(role: str) -> OrgRole:
    if role not in OrgRole.values:
        message = f"{role!r} is not an organization role."
        raise ValidationError({"role": ValidationError(message, code="invalid_choice")})
    return OrgRole(role)


def sole_owned_organizations(user: User) -> QuerySet[Organization]:
    """The organizations where `user` is the only active OWNER (a lazy queryset)."""
    other_owners = Membership.objects.filter(
        organization=OuterRef("pk"), role=OrgRole.OWNER, user__is_active=True
    ).exclude(user=user)
    owned_ids = Membership.objects.filter(user=user, role=OrgRole.OWNER).values("organization_id")
    return Organization.objects.filter(pk__in=owned_ids).exclude(Exists(other_owners))


def last_owner_check(*, user: User, organization: Organization | None = None) -> None:
    """Every organization keeps an active OWNER: `user` may not leave `organization`, stop being its OWNER, nor
    (without `organization`) delete its account while it is the only one. 400 `last_owner`.

    Without `organization` this locks the organizations `user` owns first, as the membership services lock the one
    they change (they hold that lock already when they call this), so two owners cannot both go at once."""
    sole_owned = sole_owned_organizations(user)
    if organization is None:
        owned_ids = Membership.objects.filter(user=user, role=OrgRole.OWNER).values("organization_id")
        list(Organization.objects.select_for_update().filter(pk__in=owned_ids).values_list("pk"))
    else:
        sole_owned = sole_owned.filter(pk=organization.pk)
    if sole_owned.exists():
        raise ValidationError(errors.LAST_OWNER_MESSAGE, code=errors.LAST_OWNER)


def _ensure_other_owner(membership: Membership) -> None:
    """An OWNER may only stop being one while another active OWNER remains."""
    if membership.role == OrgRole.OWNER:
        last_owner_check(user=membership.user, organization=membership.organization)


def _deactivate_if_orphaned(user: User) -> None:
    """An account an organization created goes away with its last membership."""
    if user.is_active and not Membership.objects.filter(user=user).exists():
        account_services.user_deactivate(user=user)


# ---------------------------------------------------------------- organizations


def _slug_candidates(name: str):
    base = slugify(name)[:140].strip("-") or "organization"
    yield base
    for _ in range(SLUG_ATTEMPTS):
        yield f"{base}-{secrets.token_hex(3)}"


@transaction.atomic
def organization_create(*, name: str, created_by: User) -> Organization:
    """Create an organization with a unique slug; its creator becomes its OWNER."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ValidationError("The name may not be blank.", code="blank")})
    for slug in _slug_candidates(name):
        if Organization.objects.filter(slug=slug).exists():
            continue
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name, slug=slug, created_by=created_by)
        except IntegrityError:  # taken between the check and the insert
            continue
        Membership.objects.create(user=created_by, organization=organization, role=OrgRole.OWNER)
        return organization
    raise ValidationError({"name": ValidationError("Could not derive a free slug; try another name.", code="slug")})


@transaction.atomic
def organization_update(*, organization: Organization, name: str) -> Organization:
    """Rename; the slug stays, so links keep working."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ValidationError("The name may not be blank.", code="blank")})
    organization.name = name
    organization.save(update_fields=["name", "updated_at"])
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization) -> None:
    """Delete with everything it owns; accounts it created and that belong nowhere else are deactivated."""
    provisioned = list(
        User.objects.filter(memberships__organization=organization, memberships__provisioned=True, is_active=True)
    )
    from assistants.models import Thread  # assistants builds on organizations: import here, not at the top

    # A thread PROTECTs its assistant, so the threads on the organization's assistants go first (else a 500).
    Thread.objects.filter(assistant__organization=organization).delete()
    organization.delete()
    for user in provisioned:
        _deactivate_if_orphaned(user)


# ---------------------------------------------------------------- memberships


@transaction.atomic
def membership_add(
    *,
    organization: Organization,
    user: User,
    role: str = OrgRole.MEMBER,
    actor: User | None = None,
    provisioned: bool = False,
) -> Membership:
    role = _valid_role(role)
    _authorize(organization, actor, grant=role)
    if not user.is_active:
        raise ValidationError({"user": ValidationError(errors.USER_INACTIVE_MESSAGE, code=errors.USER_INACTIVE)})
    _lock(organization)
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError({"user": ValidationError(errors.ALREADY_MEMBER_MESSAGE, code=errors.ALREADY_MEMBER)})
    return Membership.objects.create(organization=organization, user=user, role=role, provisioned=provisioned)


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: User | None = None) -> Membership:
    """Change a member's role; ADMINs never touch OWNERs nor make one, and the last OWNER stays an OWNER."""
    role = _valid_role(role)
    organization = membership.organization
    _lock(organization)
    membership.refresh_from_db(fields=["role"])
    _authorize(organization, actor, grant=role, manage=membership.role)
    if role == membership.role:
        return membership
    if role != OrgRole.OWNER:
        _ensure_other_owner(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None = None) -> None:
    """Remove a member, or leave when the actor is that member. The last OWNER can do neither; an account the
    organization created that belongs to no other organization afterwards is deactivated."""
    organization = membership.organization
    _lock(organization)
    membership.refresh_from_db(fields=["role"])
    if actor is None or actor.pk != membership.user_id:
        _authorize(organization, actor, manage=membership.role)
    _ensure_other_owner(membership)
    user = membership.user
    membership.delete()
    if membership.provisioned:
        _deactivate_if_orphaned(user)


@transaction.atomic
def ownership_transfer(*, organization: Organization, to_user: User, actor: User | None) -> Membership:
    """Make a member an OWNER; an OWNER handing over becomes an ADMIN. Staff may appoint an owner."""
    _lock(organization)
    actor_membership = (
        Membership.objects.filter(organization=organization, user=actor).first() if actor is not None else None
    )
    is_owner = actor_membership is not None and actor_membership.role == OrgRole.OWNER
    if actor is not None and not actor.is_staff and not is_owner:
        raise errors.forbidden(errors.ORG_ROLE_REQUIRED_MESSAGE, errors.ORG_ROLE_REQUIRED)
    target = Membership.objects.filter(organization=organization, user=to_user).select_related("user").first()
    if target is None:
        raise ValidationError({"user_id": ValidationError(errors.NOT_A_MEMBER_MESSAGE, code=errors.NOT_A_MEMBER)})
    if not target.user.is_active:
        raise ValidationError({"user_id": ValidationError(errors.USER_INACTIVE_MESSAGE, code=errors.USER_INACTIVE)})
    if target.role == OrgRole.OWNER:
        raise ValidationError({"user_id": ValidationError(errors.ALREADY_OWNER_MESSAGE, code=errors.ALREADY_OWNER)})
    target.role = OrgRole.OWNER
    target.save(update_fields=["role", "updated_at"])
    if is_owner:
        actor_membership.role = OrgRole.ADMIN
        actor_membership.save(update_fields=["role", "updated_at"])
    return target


# ---------------------------------------------------------------- users of an organization


def _ensure_premium(actor: User | None) -> None:
    """Creating, changing and removing users is a PREMIUM feature (staff and the system are not limited)."""
    if actor is not None and not actor.is_staff and not plan_at_least(actor.plan, Plan.PREMIUM):
        raise errors.forbidden(errors.PLAN_UPGRADE_REQUIRED_MESSAGE, errors.PLAN_UPGRADE_REQUIRED)


def _managed_memberships(*, user: User, actor: User) -> list[Membership]:
    """The memberships of `user` in organizations where `actor` may manage them; 403 when there are none."""
    _ensure_premium(actor)
    if actor.pk == user.pk or user.is_staff:
        raise errors.forbidden(errors.MEMBER_PROTECTED_MESSAGE, errors.MEMBER_PROTECTED)
    actor_roles = dict(
        Membership.objects.filter(user=actor, role__in=MANAGER_ROLES).values_list("organization_id", "role")
    )
    managed = [
        membership
        for membership in Membership.objects.filter(user=user, organization_id__in=actor_roles).select_related(
            "organization"
        )
        if may_manage_member(actor_roles[membership.organization_id], membership.role)
    ]
    if not managed:
        raise errors.forbidden(errors.MEMBER_PROTECTED_MESSAGE, errors.MEMBER_PROTECTED)
    return managed


@transaction.atomic
def org_user_create(
    *,
    organization: Organization,
    email: str,
    actor: User | None,
    full_name: str = "",
    password: str | None = None,
    org_role: str = OrgRole.MEMBER,
    role: str = Role.USER,
    plan: str = Plan.FREE,
    is_verified: bool = False,
) -> User:
    """A PREMIUM OWNER/ADMIN (or staff) creates an account straight into the organization, with a provisioned
    membership. Only staff choose role, plan or verified state; unverified accounts get a verification email."""
    org_role = _valid_role(org_role)
    _ensure_premium(actor)
    _authorize(organization, actor, grant=org_role)
    if actor is not None and not actor.is_staff and (role != Role.USER or plan != Plan.FREE or is_verified):
        raise errors.forbidden(errors.STAFF_ONLY_MESSAGE, errors.STAFF_ONLY)
    user = account_services.user_create(
        email=email,
        password=password,
        full_name=full_name,
        role=role,
        plan=plan,
        is_verified=is_verified,
        actor=actor,
    )
    Membership.objects.create(organization=organization, user=user, role=org_role, provisioned=True)
    return user


@transaction.atomic
def org_user_update(*, user: User, actor: User, data: dict) -> User:
    """A PREMIUM OWNER/ADMIN changes profile fields of a member it manages; the email only of an account one of
    its organizations created (changing anyone else's email would hand over their account)."""
    managed = _managed_memberships(user=user, actor=actor)
    if set(data) - account_services.PROFILE_FIELDS:
        raise errors.forbidden(errors.STAFF_ONLY_MESSAGE, errors.STAFF_ONLY)
    email_changes = "email" in data and account_services.normalize_email(data["email"]) != user.email
    if email_changes and not any(membership.provisioned for membership in managed):
        raise errors.forbidden(errors.EMAIL_CHANGE_FORBIDDEN_MESSAGE, errors.EMAIL_CHANGE_FORBIDDEN)
    return account_services.user_update(user=user, actor=actor, data=data)


@transaction.atomic
def org_user_remove(*, user: User, actor: User) -> None:
    """A PREMIUM OWNER/ADMIN removes a member from every organization where it manages them."""
    for membership in _managed_memberships(user=user, actor=actor):
        membership_remove(membership=membership, actor=actor)


# ---------------------------------------------------------------- invitations


def _expiry():
    return timezone.now() + timedelta(seconds=settings.INVITATION_TTL)


def _ensure_pending(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise ValidationError({"token": ValidationError(errors.INVITATION_USED_MESSAGE, code=errors.INVITATION_USED)})
    if invitation.revoked_at is not None:
        raise ValidationError(
            {"token": ValidationError(errors.INVITATION_REVOKED_MESSAGE, code=errors.INVITATION_REVOKED)}
        )


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str = OrgRole.MEMBER, invited_by: User | None
) -> Invitation:
    """Invite an email address (with or without an account) into the organization and email it a link."""
    role = _valid_role(role)
    _authorize(organization, invited_by, grant=role)
    email = account_services.normalize_email(email)
    _lock(organization)
    if Membership.objects.filter(organization=organization, user__email__iexact=email, user__is_active=True).exists():
        raise ValidationError({"email": ValidationError(errors.ALREADY_MEMBER_MESSAGE, code=errors.ALREADY_MEMBER)})
    earlier = Invitation.objects.open().filter(organization=organization, email__iexact=email).first()
    if earlier is not None:
        if earlier.status != InvitationStatus.EXPIRED:
            raise ValidationError(
                {"email": ValidationError(errors.INVITATION_PENDING_MESSAGE, code=errors.INVITATION_PENDING)}
            )
        earlier.delete()  # a dead link; the new invitation replaces it
    # Nobody knows this token: the email task issues the real one, so no token ever sits in the task queue.
    _, placeholder_hash = _new_token_hash()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=invited_by,
        token_hash=placeholder_hash,
        expires_at=_expiry(),
    )
    emails.send_invitation_email.enqueue(str(invitation.pk))
    return invitation


def invitation_issue_token(*, invitation: Invitation) -> str | None:
    """A fresh token for a pending invitation (any earlier link stops working), or None when it is no longer
    pending. Only the email task should call this: the token goes into the email and nowhere else."""
    token, digest = _new_token_hash()
    updated = Invitation.objects.pending().filter(pk=invitation.pk).update(token_hash=digest, updated_at=timezone.now())
    return token if updated else None


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User | None) -> Invitation:
    """Send a new link (the old one stops working) and restart the expiry; also revives an expired invitation.
    Who may resend is who may revoke: an ADMIN cannot revive an OWNER invitation."""
    invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    _authorize(invitation.organization, actor, grant=invitation.role)
    _ensure_pending(invitation)
    invitation.expires_at = _expiry()
    invitation.save(update_fields=["expires_at", "updated_at"])
    emails.send_invitation_email.enqueue(str(invitation.pk))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User | None = None) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    _authorize(invitation.organization, actor, grant=invitation.role)
    _ensure_pending(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organization through an emailed token. Only the verified account with the invited email may;
    each token works once, until it expires or is revoked."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    if invitation is None:
        raise ValidationError(
            {"token": ValidationError(errors.INVITATION_INVALID_MESSAGE, code=errors.INVITATION_INVALID)}
        )
    # Checked first, so that someone else's link tells nothing about its state.
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(errors.INVITATION_EMAIL_MISMATCH_MESSAGE, code=errors.INVITATION_EMAIL_MISMATCH)
    _ensure_pending(invitation)
    if invitation.status == InvitationStatus.EXPIRED:
        raise ValidationError(
            {"token": ValidationError(errors.INVITATION_EXPIRED_MESSAGE, code=errors.INVITATION_EXPIRED)}
        )
    if not user.is_verified:
        raise ValidationError(errors.EMAIL_NOT_VERIFIED_MESSAGE, code=errors.EMAIL_NOT_VERIFIED)
    _lock(invitation.organization)
    membership = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if membership is None:
        membership = Membership.objects.create(organization=invitation.organization, user=user, role=invitation.role)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    return membership


@transaction.atomic
def purge_expired_invitations() -> int:
    """Delete invitations that expired without being accepted; returns how many."""
    deleted, _ = Invitation.objects.filter(accepted_at__isnull=True, expires_at__lte=timezone.now()).delete()
    return deleted
