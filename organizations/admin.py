"""Staff console for organizations. Membership changes go through the services, so an organization always keeps
an OWNER; invitations are sent through the API (the emailed token exists nowhere else) and only revoked here."""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.db.models import Count

from bazar.admin_helpers import ServiceErrorsMixin, apply_to_each
from organizations import services
from organizations.models import Invitation, InvitationStatus, Membership, Organization, OrgRole

INVITATION_FIELDS = (
    "email",
    "role",
    "status",
    "invited_by",
    "expires_at",
    "accepted_at",
    "accepted_by",
    "revoked_at",
    "created_at",
)


class MembershipInlineForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:  # (the UUID pk is set before the row exists)
            # A membership belongs to one user: remove it and add the other user instead.
            self.fields["user"].disabled = True


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    fields = ("user", "role", "provisioned", "created_at")
    readonly_fields = ("provisioned", "created_at")
    autocomplete_fields = ("user",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class InvitationStatusMixin:
    @admin.display(description="Status")
    def status(self, obj: Invitation) -> str:
        return InvitationStatus(obj.status).label


class InvitationInline(InvitationStatusMixin, admin.TabularInline):
    model = Invitation
    fields = INVITATION_FIELDS
    readonly_fields = INVITATION_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invited_by", "accepted_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrganizationAddForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ("name", "created_by")
        labels = {"created_by": "Owner"}
        help_texts = {"created_by": "Becomes the organization's first OWNER."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["created_by"].required = True


@admin.register(Organization)
class OrganizationAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "created_by", "member_count", "created_at")
    search_fields = ("name", "slug", "created_by__email")
    search_help_text = "Search by name, slug or creator email."
    list_select_related = ("created_by",)
    autocomplete_fields = ("created_by",)
    date_hierarchy = "created_at"
    readonly_fields = ("id", "slug", "created_by", "created_at", "updated_at")
    fields = ("name", "slug", "created_by", "id", "created_at", "updated_at")
    add_form = OrganizationAddForm
    inlines = (MembershipInline, InvitationInline)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships", distinct=True))

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Organization) -> int:
        return obj._member_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("name", "created_by") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        # The creator becomes OWNER when the organization is created; members are added afterwards.
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.organization_create(name=form.cleaned_data["name"], created_by=obj.created_by)
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
        elif "name" in form.changed_data:
            services.organization_update(organization=obj, name=form.cleaned_data["name"])

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        organization, actor = form.instance, request.user
        for membership in formset.new_objects:
            services.membership_add(organization=organization, user=membership.user, role=membership.role, actor=actor)
        # New OWNERs first: handing ownership over in one save never passes through an owner-less state.
        changed = sorted(
            (membership for membership, fields in formset.changed_objects if "role" in fields),
            key=lambda membership: membership.role != OrgRole.OWNER,
        )
        for membership in changed:
            services.membership_change_role(membership=membership, role=membership.role, actor=actor)
        for membership in formset.deleted_objects:
            services.membership_remove(membership=membership, actor=actor)
        return None

    def delete_model(self, request, obj):
        services.organization_delete(organization=obj)

    def delete_queryset(self, request, queryset):
        for organization in queryset:
            services.organization_delete(organization=organization)


@admin.register(Membership)
class MembershipAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("user", "organization", "role", "provisioned", "created_at")
    list_filter = ("role", "provisioned")
    search_fields = ("user__email", "user__full_name", "organization__name", "organization__slug")
    search_help_text = "Search by member email or name, or organization name or slug."
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")
    fields = ("organization", "user", "role", "provisioned", "id", "created_at", "updated_at")
    actions = ("remove_memberships",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("provisioned", "id", "created_at", "updated_at")
        return ("organization", "user", "provisioned", "id", "created_at", "updated_at")

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        # Removals can be refused (the last OWNER), which delete_selected cannot report: remove_memberships can.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.membership_add(
                organization=obj.organization, user=obj.user, role=obj.role, actor=request.user
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
        elif "role" in form.changed_data:
            services.membership_change_role(membership=obj, role=form.cleaned_data["role"], actor=request.user)

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            services.membership_remove(membership=membership, actor=request.user)

    @admin.action(description="Remove selected members from their organization", permissions=["delete"])
    def remove_memberships(self, request, queryset):
        apply_to_each(
            self,
            request,
            queryset.select_related("user", "organization"),
            lambda membership: services.membership_remove(membership=membership, actor=request.user),
            done="Removed",
        )


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return InvitationStatus.choices

    def queryset(self, request, queryset):
        # A hand-edited unknown status lists everything rather than failing.
        return queryset.with_status(self.value()) if self.value() in InvitationStatus.values else queryset


@admin.register(Invitation)
class InvitationAdmin(InvitationStatusMixin, ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("email", "organization", "role", "status", "invited_by", "expires_at", "created_at")
    list_filter = (InvitationStatusFilter, "role")
    search_fields = ("email", "organization__name", "organization__slug")
    search_help_text = "Search by invited email or organization name or slug."
    list_select_related = ("organization", "invited_by")
    fields = ("organization", *INVITATION_FIELDS, "id", "updated_at")
    readonly_fields = fields
    date_hierarchy = "created_at"
    actions = ("revoke_invitations", "resend_invitations")

    def has_add_permission(self, request) -> bool:
        # Sent through the API (organizations/{id}/invitations/), where the emailed token is made.
        return False

    @admin.action(description="Revoke selected invitations", permissions=["change"])
    def revoke_invitations(self, request, queryset):
        apply_to_each(
            self,
            request,
            queryset.select_related("organization"),
            lambda invitation: services.invitation_revoke(invitation=invitation, actor=request.user),
            done="Revoked",
        )

    @admin.action(description="Resend selected invitations (new link, new expiry)", permissions=["change"])
    def resend_invitations(self, request, queryset):
        apply_to_each(
            self,
            request,
            queryset.select_related("organization"),
            lambda invitation: services.invitation_resend(invitation=invitation, actor=request.user),
            done="Resent",
        )
