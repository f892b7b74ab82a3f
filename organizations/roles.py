"""Organization roles: pure policy, no ORM and no request, unit-testable without a database."""

from django.db import models


class OrgRole(models.TextChoices):
    OWNER = "OWNER", "Owner"
    ADMIN = "ADMIN", "Admin"
    MEMBER = "MEMBER", "Member"


ORG_ROLE_RANK = {OrgRole.MEMBER: 0, OrgRole.ADMIN: 1, OrgRole.OWNER: 2}
MANAGER_ROLES = frozenset({OrgRole.OWNER, OrgRole.ADMIN})


def org_role_at_least(role: str | None, minimum: str) -> bool:
    """True when `role` (None = not a member) ranks at least `minimum`."""
    return role is not None and ORG_ROLE_RANK[OrgRole(role)] >= ORG_ROLE_RANK[OrgRole(minimum)]


def is_org_manager(role: str | None) -> bool:
    """OWNERs and ADMINs manage an organization's members and invitations."""
    return role in MANAGER_ROLES


def may_manage_member(actor_role: str | None, member_role: str) -> bool:
    """Whether a member with `actor_role` may change or remove a member holding `member_role`.

    OWNERs manage everyone; ADMINs manage ADMINs and MEMBERs but never an OWNER; MEMBERs manage nobody.
    """
    if actor_role == OrgRole.OWNER:
        return True
    return actor_role == OrgRole.ADMIN and member_role != OrgRole.OWNER


def may_grant(actor_role: str | None, role: str) -> bool:
    """Whether `actor_role` may give `role` to someone (by adding, inviting or changing): only OWNERs make OWNERs."""
    if actor_role == OrgRole.OWNER:
        return True
    return actor_role == OrgRole.ADMIN and role != OrgRole.OWNER
