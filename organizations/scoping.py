"""Tenant scope as subqueries: use these in get_queryset so that rows outside the caller's organizations
are simply not there (404), never forbidden (403)."""

from django.db.models import QuerySet

from organizations.models import Membership, OrgRole


def member_org_ids(user) -> QuerySet:
    """Ids of the organizations `user` belongs to (a subquery, not evaluated)."""
    return Membership.objects.filter(user=user).values("organization_id")


def admin_org_ids(user) -> QuerySet:
    """Ids of the organizations where `user` is OWNER or ADMIN (a subquery)."""
    return Membership.objects.filter(user=user, role__in=[OrgRole.OWNER, OrgRole.ADMIN]).values("organization_id")
