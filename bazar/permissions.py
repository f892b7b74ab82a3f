"""Small reusable permission classes, one rule each; compose them with & | ~.

Scope (which rows a caller may see at all) lives in each viewset's get_queryset, so that anything
out of scope answers 404; these classes only decide what a caller in scope may do.
"""

from rest_framework.permissions import BasePermission

from accounts.roles import Role, plan_at_least
from organizations.roles import OrgRole, org_role_at_least
from organizations.scoping import admin_org_ids


class ActionPermissionsMixin:
    """For viewsets: `permission_classes_by_action` maps an action to its permission classes; any other action
    uses the view's `permission_classes` (the DRF default, or what an `@action(permission_classes=...)` set)."""

    permission_classes_by_action: dict[str, list] = {}

    def get_permissions(self):
        classes = self.permission_classes_by_action.get(self.action)
        if classes is None:
            return super().get_permissions()
        return [permission() for permission in classes]


def _per_action(view, attribute: str) -> str | None:
    """`view.<attribute>` as one value, or looked up by `view.action` when it is a dict."""
    value = getattr(view, attribute, None)
    if isinstance(value, dict):
        return value.get(getattr(view, "action", None))
    return value


def _authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


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


class PlanRequired(BasePermission):
    """The caller's plan is at least `view.required_plan` (a plan, or a dict action → plan). Staff pass."""

    message = "Your plan does not include this action."
    code = "plan_upgrade_required"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not _authenticated(request):
            return False
        if user.is_staff:
            return True
        required = _per_action(view, "required_plan")
        return required is None or plan_at_least(user.plan, required)


class IsVerified(BasePermission):
    """The caller has confirmed its email address."""

    message = "Verify your email address first."
    code = "email_not_verified"

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and request.user.is_verified


class OrgRoleRequired(BasePermission):
    """The caller's role in the view's organization is at least `view.required_org_role` (a role, or a dict
    action → role; None = any caller in scope). Staff pass.

    The view provides `get_org_role()`, which looks the organization up within the caller's scope first, so
    an organization out of scope answers 404 before any role is compared.
    """

    message = "Your role in this organization does not allow this."
    code = "org_role_required"
    required_org_role: str | None = None

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request):
            return False
        required = self.required_org_role or _per_action(view, "required_org_role")
        if required is None:
            return True
        role = view.get_org_role()  # raises 404 when the organization is out of the caller's scope
        return request.user.is_staff or org_role_at_least(role, required)


class IsOrgAdmin(OrgRoleRequired):
    """The caller is an OWNER or ADMIN of the view's organization (or staff)."""

    message = "Only the organization's owners and admins may do this."
    required_org_role = OrgRole.ADMIN


class IsOrgOwner(OrgRoleRequired):
    """The caller is an OWNER of the view's organization (or staff)."""

    message = "Only the organization's owners may do this."
    required_org_role = OrgRole.OWNER


class IsOrgAdminAnywhere(BasePermission):
    """The caller is an OWNER or ADMIN of at least one organization (or staff), e.g. to create users into one."""

    message = "Only owners and admins of an organization may do this."
    code = "org_role_required"

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request):
            return False
        return request.user.is_staff or admin_org_ids(request.user).exists()


class IsSelf(BasePermission):
    """The object the URL names is the caller's own account (e.g. leaving an organization)."""

    message = "This is not your own account."
    code = "not_self"

    def has_permission(self, request, view) -> bool:
        kwarg = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
        return _authenticated(request) and str(view.kwargs.get(kwarg)) == str(request.user.pk)
