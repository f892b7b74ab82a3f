"""Tenant scope as subqueries: use these in get_queryset so that rows outside the caller's organizations
are simply not there (404), never forbidden (403)."""

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from organizations.models import Membership, Organization, OrgRole


def member_org_ids(user) -> QuerySet:
    """Ids of the organizations `user` belongs to (a subquery, not evaluated)."""
    return Membership.objects.filter(user=user).values("organization_id")


def admin_org_ids(user) -> QuerySet:
    """Ids of the organizations where `user` is OWNER or ADMIN (a subquery)."""
    return Membership.objects.filter(user=user, role__in=[OrgRole.OWNER, OrgRole.ADMIN]).values("organization_id")


def colleague_ids(user) -> QuerySet:
    """Ids of the users who share at least one organization with `user`, `user` included (a subquery)."""
    return Membership.objects.filter(organization__in=member_org_ids(user)).values("user_id")


def users_visible_to(user) -> QuerySet:
    """Staff see every account; others see themselves and the active accounts they share an organization with.

    The ids come from the caller's memberships plus their own, so that PostgreSQL can look the users up by primary
    key: with `pk = me OR pk IN (colleagues)` it read every account on the platform instead (3 million users: 250 ms
    per count, against 0.55 ms this way; docs/benchmarks-users.md).
    """
    users = get_user_model().objects.all()
    if user.is_staff:
        return users
    me = get_user_model().objects.filter(pk=user.pk).values("pk")
    return users.filter(pk__in=colleague_ids(user).union(me)).filter(Q(is_active=True) | Q(pk=user.pk))


def organizations_visible_to(user) -> QuerySet:
    """Staff see every organization, others their own; each row carries the caller's `my_role` (None when not a
    member) and `member_count` (active members), in one query however many rows."""
    my_role = Membership.objects.filter(organization=OuterRef("pk"), user=user).order_by().values("role")[:1]
    active_members = (
        Membership.objects.filter(organization=OuterRef("pk"), user__is_active=True)
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    organizations = Organization.objects.annotate(
        my_role=Subquery(my_role),
        member_count=Coalesce(Subquery(active_members, output_field=IntegerField()), Value(0)),
    )
    if user.is_staff:
        return organizations
    return organizations.filter(pk__in=member_org_ids(user))
