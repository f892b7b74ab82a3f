from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.roles import Role

# ADMIN staff hold this group's permissions through their role (see EmailBackend); a data migration creates it.
STAFF_GROUP_NAME = "Bazar staff"


class EmailBackend(ModelBackend):
    """Email login (case-insensitive); blocked and deactivated accounts cannot authenticate."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_blocked", False)

    def _get_group_permissions(self, user_obj):
        """ADMIN gets the "Bazar staff" group's permissions from its role, so no membership row can drift from it."""
        condition = Q(group__user=user_obj)
        if getattr(user_obj, "role", None) == Role.ADMIN:
            condition |= Q(group__name=STAFF_GROUP_NAME)
        return Permission.objects.filter(condition).distinct()
