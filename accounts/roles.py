"""Global roles and plans: pure policy, no ORM and no request, unit-testable without a database."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    USER = "USER", "User"
    ADMIN = "ADMIN", "Admin"
    SUPERADMIN = "SUPERADMIN", "Superadmin"


class Plan(models.TextChoices):
    FREE = "FREE", "Free"
    PLUS = "PLUS", "Plus"
    PREMIUM = "PREMIUM", "Premium"


ROLE_RANK = {Role.USER: 0, Role.ADMIN: 1, Role.SUPERADMIN: 2}
PLAN_RANK = {Plan.FREE: 0, Plan.PLUS: 1, Plan.PREMIUM: 2}
STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERADMIN})


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def plan_at_least(plan: str, minimum: str) -> bool:
    return PLAN_RANK[Plan(plan)] >= PLAN_RANK[Plan(minimum)]


def is_staff_role(role: str) -> bool:
    return role in STAFF_ROLES


def limit_for(plan: str, resource: str) -> int | None:
    """The quota of `resource` for `plan` from settings.PLAN_LIMITS; None means unlimited."""
    return settings.PLAN_LIMITS[Plan(plan)][resource]
