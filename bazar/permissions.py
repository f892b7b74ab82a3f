"""Small reusable permission classes, one rule each; compose them with & | ~.

Scope (which rows a caller may see at all) lives in each viewset's get_queryset, so that anything
out of scope answers 404; these classes only decide what a caller in scope may do.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.roles import Role, plan_at_least


class IsStaff(BasePermission):
    """Platform staff: ADMIN or SUPERADMIN."""

    message = "Only staff may do this."
    code = "staff_required"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsSuperAdmin(BasePermission):
    """SUPERADMIN only."""

    message = "Only a superadmin may do this."
    code = "superadmin_required"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.role == Role.SUPERADMIN)


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS


class PlanRequired(BasePermission):
    """The caller's plan is at least `view.required_plan` (a plan, or a dict action → plan). Staff pass."""

    message = "Your plan does not include this action."
    code = "plan_upgrade_required"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_staff:
            return True
        required = getattr(view, "required_plan", None)
        if isinstance(required, dict):
            required = required.get(getattr(view, "action", None))
        return required is None or plan_at_least(user.plan, required)
