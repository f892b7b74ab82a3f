from django.conf import settings
from django.db import models
from django.dispatch import Signal
from django.utils import timezone

from bazar.ids import uuid7
from organizations.roles import OrgRole

# Sent by bulk writes to memberships, which skip post_save/post_delete (readers: cached lists of what members see).
memberships_changed = Signal()

__all__ = ["Invitation", "InvitationQuerySet", "InvitationStatus", "Membership", "OrgRole", "Organization"]


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=160, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="organizations")

    class Meta:
        db_table = "organizations"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet):
    """Bulk writes skip the model's signals: they send `memberships_changed` here instead."""

    def update(self, **kwargs) -> int:
        count = super().update(**kwargs)
        memberships_changed.send(sender=Membership, using=self.db)
        return count

    def bulk_create(self, *args, **kwargs) -> list:
        created = super().bulk_create(*args, **kwargs)
        memberships_changed.send(sender=Membership, using=self.db)
        return created

    def bulk_update(self, *args, **kwargs) -> int:
        count = super().bulk_update(*args, **kwargs)
        memberships_changed.send(sender=Membership, using=self.db)
        return count


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)
    # True when the organization created the account itself (PREMIUM org admins); such an account is
    # deactivated when removed from its last organization.
    provisioned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        db_table = "memberships"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="memberships_user_org_unique"),
            models.CheckConstraint(condition=models.Q(role__in=OrgRole.values), name="memberships_role_valid"),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="memberships_org_role_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


OPEN_INVITATION = models.Q(accepted_at__isnull=True, revoked_at__isnull=True)


class InvitationQuerySet(models.QuerySet):
    """Invitation status as a query; the same rule as `Invitation.status`, which reads it off one row."""

    def with_status(self, status: str) -> "InvitationQuerySet":
        now = timezone.now()
        conditions = {
            InvitationStatus.ACCEPTED: models.Q(accepted_at__isnull=False),
            InvitationStatus.REVOKED: models.Q(accepted_at__isnull=True, revoked_at__isnull=False),
            InvitationStatus.EXPIRED: OPEN_INVITATION & models.Q(expires_at__lte=now),
            InvitationStatus.PENDING: OPEN_INVITATION & models.Q(expires_at__gt=now),
        }
        if status not in conditions:
            raise ValueError(f"{status!r} is not an invitation status.")
        return self.filter(conditions[status])

    def open(self) -> "InvitationQuerySet":
        """Neither accepted nor revoked (pending or expired): at most one per organization and email."""
        return self.filter(OPEN_INVITATION)

    def pending(self) -> "InvitationQuerySet":
        """Neither accepted, revoked nor expired: the ones whose link still works."""
        return self.with_status(InvitationStatus.PENDING)


class Invitation(models.Model):
    """A single-use invitation; only a hash of its token is stored."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        db_table = "invitations"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=OPEN_INVITATION,
                name="invitations_one_pending_per_email",
            ),
            models.CheckConstraint(condition=models.Q(role__in=OrgRole.values), name="invitations_role_valid"),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="invitations_org_created_idx")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization_id}"

    @property
    def status(self) -> str:
        """accepted, revoked, expired or pending (InvitationQuerySet.with_status is the same rule as a query)."""
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING
