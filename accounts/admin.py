"""Staff console for accounts. `role` is the only source of truth: no is_staff/is_superuser/groups fields here."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    BaseUserCreationForm,
    SetUnusablePasswordMixin,
    UserChangeForm,
)
from rest_framework_simplejwt.token_blacklist import admin as token_blacklist_admin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import lockout, services
from accounts.models import User
from accounts.roles import Plan, Role
from bazar.admin_helpers import ServiceErrorsMixin, action_form_response, apply_to_each, bound_action_form
from organizations.models import Membership

BLOCK_REASON_REQUIRED = "Give a reason for blocking this account."
SELF_ACTION_REFUSED = "you cannot do this to your own account"

# Change-form fields a save hands to services.user_update, which holds the rules for each.
SERVICE_FIELDS = ("email", "full_name", "role", "plan", "is_blocked", "blocked_reason")


class UserAddForm(SetUnusablePasswordMixin, BaseUserCreationForm):
    usable_password = SetUnusablePasswordMixin.create_usable_password_field()
    is_verified = forms.BooleanField(
        required=False, initial=True, help_text="Unchecked: the user gets a verification email."
    )

    class Meta:
        model = User
        fields = ("email", "full_name", "role", "plan")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].required = False
        self.fields["password2"].required = False

    def clean_email(self) -> str:
        email = services.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(services.EMAIL_TAKEN_MESSAGE, code="email_taken")
        return email


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User

    def clean(self):
        cleaned = super().clean()
        if "is_blocked" in self.changed_data and cleaned.get("is_blocked") and not cleaned.get("blocked_reason"):
            self.add_error("blocked_reason", BLOCK_REASON_REQUIRED)
        return cleaned


class UserPasswordForm(AdminPasswordChangeForm):
    """The admin's set-password page, through the service so earlier tokens are revoked."""

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        # The view has already checked that the acting staff member may change this account.
        return services.user_set_password(user=self.user, password=password)


class BlockForm(forms.Form):
    reason = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"size": 60}), help_text="Shown to staff.")


class PlanForm(forms.Form):
    plan = forms.ChoiceField(choices=Plan.choices)


class MembershipInline(admin.TabularInline):
    """The user's organizations, read-only here: members are managed from the organization."""

    model = Membership
    fk_name = "user"
    fields = ("organization", "role", "provisioned", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ServiceErrorsMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    change_password_form = UserPasswordForm
    list_display = ("email", "full_name", "role", "plan", "is_verified", "is_blocked", "is_active", "created_at")
    list_filter = ("role", "plan", "is_verified", "is_blocked", "is_active")
    search_fields = ("email", "full_name")
    search_help_text = "Search by email or full name."
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    filter_horizontal = ()
    readonly_fields = (
        "id",
        "is_verified",
        "verified_at",
        "blocked_at",
        "is_active",
        "token_version",
        "last_login",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Access", {"fields": ("role", "plan", "is_active")}),
        ("Status", {"fields": ("is_verified", "verified_at", "is_blocked", "blocked_reason", "blocked_at")}),
        (
            "Audit",
            {"classes": ("collapse",), "fields": ("id", "token_version", "last_login", "created_at", "updated_at")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "role",
                    "plan",
                    "is_verified",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    inlines = (MembershipInline,)
    actions = ("verify_users", "block_users", "unblock_users", "clear_login_lockout", "set_plan", "deactivate_users")

    # ---- who may edit what
    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def has_change_permission(self, request, obj=None) -> bool:
        """Only a superadmin changes a superadmin account (the others see it read-only)."""
        if obj is not None and obj.role == Role.SUPERADMIN and request.user.role != Role.SUPERADMIN:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are deactivated (the "deactivate" action), never deleted: rows that reference them stay intact.
        return False

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Roles are a superadmin's call, and not on their own account (no accidental self-demotion).
        if request.user.role != Role.SUPERADMIN or (obj is not None and obj.pk == request.user.pk):
            readonly.append("role")
        return readonly

    # ---- saves go through the services
    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            created = services.user_create(
                email=data["email"],
                password=data.get("password1") if data.get("set_usable_password") else None,
                full_name=data.get("full_name", ""),
                role=data.get("role", Role.USER),
                plan=data.get("plan", Plan.FREE),
                is_verified=data.get("is_verified", False),
                actor=request.user,
            )
            # The admin goes on with `obj` (log entry, redirect): make it the created row.
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name in SERVICE_FIELDS}
        if "is_blocked" in changed:
            changed["blocked_reason"] = form.cleaned_data.get("blocked_reason", "")
        if changed:
            services.user_update(user=User.objects.get(pk=obj.pk), actor=request.user, data=changed)
            obj.refresh_from_db()

    # ---- actions
    def _may_act_on(self, request, user: User) -> str | None:
        if user.pk == request.user.pk:
            return SELF_ACTION_REFUSED
        return None

    @admin.action(description="Mark selected users as verified", permissions=["change"])
    def verify_users(self, request, queryset):
        apply_to_each(self, request, queryset, lambda user: services.user_mark_verified(user=user), done="Verified")

    @admin.action(description="Block selected users…", permissions=["change"])
    def block_users(self, request, queryset):
        form = bound_action_form(BlockForm, request)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            apply_to_each(
                self,
                request,
                queryset,
                lambda user: services.user_block(user=user, reason=reason, actor=request.user),
                done="Blocked",
                check=lambda user: self._may_act_on(request, user),
            )
            return None
        return action_form_response(
            self, request, queryset, form=form, action="block_users", title="Block users", submit="Block"
        )

    @admin.action(description="Unblock selected users", permissions=["change"])
    def unblock_users(self, request, queryset):
        apply_to_each(
            self, request, queryset, lambda user: services.user_unblock(user=user, actor=request.user), done="Unblocked"
        )

    @admin.action(description="Clear login lockout of selected users", permissions=["change"])
    def clear_login_lockout(self, request, queryset):
        """Failed logins lock an account for a while (accounts.lockout); this lets its owner try again now."""
        apply_to_each(
            self, request, queryset, lambda user: lockout.lockout_clear(email=user.email), done="Lockout cleared"
        )

    @admin.action(description="Set the plan of selected users…", permissions=["change"])
    def set_plan(self, request, queryset):
        form = bound_action_form(PlanForm, request)
        if form.is_bound and form.is_valid():
            plan = form.cleaned_data["plan"]
            apply_to_each(
                self,
                request,
                queryset,
                lambda user: services.user_set_plan(user=user, plan=plan, actor=request.user),
                done=f"Plan set to {plan}",
            )
            return None
        return action_form_response(
            self, request, queryset, form=form, action="set_plan", title="Set plan", submit="Set plan"
        )

    @admin.action(description="Deactivate (delete) selected accounts", permissions=["change"])
    def deactivate_users(self, request, queryset):
        apply_to_each(
            self,
            request,
            queryset.filter(is_active=True),
            lambda user: services.user_deactivate(user=user, actor=request.user),
            done="Deactivated",
            check=lambda user: self._may_act_on(request, user),
        )


# simplejwt registers its own token admins when its admin module is imported (above); ours replace them.
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


class ViewOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ViewOnlyMixin, token_blacklist_admin.OutstandingTokenAdmin):
    """Issued refresh tokens, by jti and never the token itself: a stored token may still be valid until it expires."""

    fields = ("jti", "user", "created_at", "expires_at")
    readonly_fields = fields
    list_display = fields
    search_fields = ("jti", "user__email")
    search_help_text = "Search by jti or user email."
    ordering = ("-created_at",)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ViewOnlyMixin, token_blacklist_admin.BlacklistedTokenAdmin):
    """Revoked refresh tokens, view only: deleting a row would make its token usable again."""

    fields = ("token", "blacklisted_at")
    readonly_fields = fields
    search_fields = ("token__jti", "token__user__email")
    search_help_text = "Search by jti or user email."
    ordering = ("-blacklisted_at",)
