from collections.abc import Callable

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from bazar.idempotency import idempotent
from bazar.pagination import ParentScopedListMixin
from bazar.permissions import ActionPermissionsMixin, IsOrgAdmin, IsOrgOwner, IsSelf, IsVerified
from bazar.validation import validated
from organizations import errors, serializers, services
from organizations.models import Invitation, InvitationStatus, Membership, Organization, OrgRole
from organizations.scoping import admin_org_ids, member_org_ids, organizations_visible_to, users_visible_to

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class OrganizationScopedMixin:
    """Resolves the URL's organization within the caller's scope (404 outside it) once per request, for
    get_queryset and for the organization-role permissions (`get_org_role`)."""

    organization_url_kwarg = "organization_pk"

    def get_organization(self):
        if not hasattr(self, "_organization"):
            self._organization = get_object_or_404(
                organizations_visible_to(self.request.user), pk=self.kwargs[self.organization_url_kwarg]
            )
        return self._organization

    def get_org_role(self) -> str | None:
        return self.get_organization().my_role

    def of_organization(self, rows: QuerySet, org_ids: Callable[[User], QuerySet]) -> QuerySet:
        """`rows` of the URL's organization if it is among `org_ids(caller)` (staff: any), checked in the rows' own
        query: the organization itself is looked up only where needed (see ParentScopedListMixin)."""
        rows = rows.filter(organization_id=self.kwargs[self.organization_url_kwarg])
        return rows if self.request.user.is_staff else rows.filter(organization__in=org_ids(self.request.user))


def _organization_data(organization, user) -> dict:
    """The organization re-read with the caller's role and member count."""
    return serializers.OrganizationSerializer(organizations_visible_to(user).get(pk=organization.pk)).data


class OrganizationFilter(filters.FilterSet):
    my_role = filters.ChoiceFilter(choices=OrgRole.choices)

    class Meta:
        model = Organization
        fields = ["my_role", "slug"]


# The codes services raise, so that the documented 400 bodies are the real ones (checked by .ci/fuzz.sh).
@extend_validation_errors(["slug"], field_name="name", actions=["create", "update", "partial_update"])
@extend_validation_errors(
    [errors.NOT_A_MEMBER, errors.USER_INACTIVE, errors.ALREADY_OWNER],
    field_name="user_id",
    actions=["transfer_ownership"],
)
class OrganizationViewSet(ActionPermissionsMixin, OrganizationScopedMixin, viewsets.ModelViewSet):
    """Organizations: members read theirs (staff all), any verified user creates one and becomes its OWNER,
    OWNERs and ADMINs rename, OWNERs delete and hand over ownership."""

    organization_url_kwarg = "pk"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    serializer_class = serializers.OrganizationSerializer
    filterset_class = OrganizationFilter
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    permission_classes = [IsAuthenticated]
    permission_classes_by_action = {
        "create": [IsVerified],
        "update": [IsOrgAdmin],
        "partial_update": [IsOrgAdmin],
        "destroy": [IsOrgOwner],
        "transfer_ownership": [IsOrgOwner],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return Organization.objects.none()
        return organizations_visible_to(self.request.user)

    def get_object(self):
        organization = self.get_organization()
        self.check_object_permissions(self.request, organization)
        return organization

    @extend_schema(request=serializers.OrganizationInputSerializer, responses={201: serializers.OrganizationSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = validated(serializers.OrganizationInputSerializer, request)
        organization = services.organization_create(name=data["name"], created_by=request.user)
        return Response(_organization_data(organization, request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.OrganizationInputSerializer, responses={200: serializers.OrganizationSerializer})
    def update(self, request, *args, partial=False, **kwargs):
        data = validated(serializers.OrganizationInputSerializer, request, partial=partial)
        organization = self.get_object()
        if "name" in data:  # a PATCH without fields changes nothing
            organization = services.organization_update(organization=organization, name=data["name"])
        return Response(_organization_data(organization, request.user))

    @extend_schema(request=serializers.OrganizationInputSerializer, responses={200: serializers.OrganizationSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.organization_delete(organization=instance)

    # @idempotent above @action: @action replaces the function's `kwargs`, where the schema documentation lives.
    @extend_schema(request=serializers.OwnershipTransferSerializer, responses={200: serializers.MembershipSerializer})
    @idempotent
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request, pk=None):
        """Make a member an OWNER; the calling OWNER becomes an ADMIN (so a retry with the same Idempotency-Key
        answers 403 `org_role_required` instead of the replay; staff retries replay)."""
        organization = self.get_object()
        data = validated(serializers.OwnershipTransferSerializer, request)
        to_user = User.objects.filter(pk=data["user_id"]).first()
        if to_user is None:
            raise ValidationError({"user_id": [errors.NOT_A_MEMBER_MESSAGE]}, code=errors.NOT_A_MEMBER)
        membership = services.ownership_transfer(organization=organization, to_user=to_user, actor=request.user)
        return Response(serializers.MembershipSerializer(membership).data)


class MembershipFilter(filters.FilterSet):
    class Meta:
        model = Membership
        fields = ["role", "provisioned"]


@extend_validation_errors(
    [errors.USER_NOT_FOUND, errors.USER_INACTIVE, errors.ALREADY_MEMBER], field_name="user", actions=["create"]
)
@extend_validation_errors([errors.USER_NOT_FOUND], field_name="email", actions=["create"])
@extend_validation_errors(["user_or_email"], field_name="non_field_errors", actions=["create"])
@extend_validation_errors([errors.LAST_OWNER], field_name="non_field_errors", actions=["partial_update", "destroy"])
class MembershipViewSet(
    ActionPermissionsMixin,
    OrganizationScopedMixin,
    ParentScopedListMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """An organization's members, addressed by user id. Members read; OWNERs and ADMINs add, change roles and
    remove; every member may remove itself (leave)."""

    serializer_class = serializers.MembershipSerializer
    lookup_field = "user"
    lookup_url_kwarg = "user_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = MembershipFilter
    search_fields = ["user__email", "user__full_name"]
    ordering_fields = ["created_at", "role", "user__email"]
    permission_classes = [IsAuthenticated]
    permission_classes_by_action = {
        "create": [IsOrgAdmin],
        "partial_update": [IsOrgAdmin],
        "destroy": [IsSelf | IsOrgAdmin],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.of_organization(
            # The member's password hash is never shown nor needed here: it stays in the database.
            Membership.objects.filter(user__is_active=True).select_related("user").defer("user__password"),
            member_org_ids,
        )

    def check_parent(self) -> None:
        self.get_organization()

    @extend_schema(request=serializers.MembershipCreateSerializer, responses={201: serializers.MembershipSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = validated(serializers.MembershipCreateSerializer, request)
        # Only people the caller already shares an organization with can be added directly, so that adding
        # cannot probe which emails have accounts; everyone else gets an invitation.
        candidates = users_visible_to(request.user).filter(is_active=True)
        if "user" in data:
            user = candidates.filter(pk=data["user"]).first()
        else:
            user = candidates.filter(email__iexact=data["email"]).first()
        if user is None:
            field = "user" if "user" in data else "email"
            raise ValidationError({field: [errors.USER_NOT_FOUND_MESSAGE]}, code=errors.USER_NOT_FOUND)
        membership = services.membership_add(
            organization=self.get_organization(), user=user, role=data["role"], actor=request.user
        )
        return Response(serializers.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.MembershipUpdateSerializer, responses={200: serializers.MembershipSerializer})
    def partial_update(self, request, *args, **kwargs):
        data = validated(serializers.MembershipUpdateSerializer, request)
        membership = services.membership_change_role(
            membership=self.get_object(), role=data["role"], actor=request.user
        )
        return Response(serializers.MembershipSerializer(membership).data)

    def perform_destroy(self, instance):
        services.membership_remove(membership=instance, actor=self.request.user)


class InvitationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=InvitationStatus.choices, method="filter_status")

    class Meta:
        model = Invitation
        fields = ["status", "role", "email"]

    def filter_status(self, queryset, name, value):
        return queryset.with_status(value)


@extend_validation_errors([errors.ALREADY_MEMBER, errors.INVITATION_PENDING], field_name="email", actions=["create"])
@extend_validation_errors(
    [errors.INVITATION_USED, errors.INVITATION_REVOKED], field_name="token", actions=["resend", "destroy"]
)
class InvitationViewSet(
    OrganizationScopedMixin,
    ParentScopedListMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """An organization's invitations, for its OWNERs and ADMINs: create (emails a link), list, revoke (DELETE),
    resend."""

    serializer_class = serializers.InvitationSerializer
    permission_classes = [IsOrgAdmin]
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "delete", "head", "options"]
    filterset_class = InvitationFilter
    search_fields = ["email"]
    ordering_fields = ["created_at", "expires_at", "email"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return self.of_organization(Invitation.objects.all(), admin_org_ids)

    def check_permissions(self, request):
        # A list shows only the invitations of organizations the caller administers, so it checks IsOrgAdmin (which
        # looks the organization up) only when it has none to show: in check_parent.
        if self.action != "list":
            super().check_permissions(request)
        elif not request.user.is_authenticated:
            self.permission_denied(request)

    def check_parent(self) -> None:
        super().check_permissions(self.request)  # IsOrgAdmin: 404 out of scope, 403 below ADMIN

    @extend_schema(request=serializers.InvitationCreateSerializer, responses={201: serializers.InvitationSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = validated(serializers.InvitationCreateSerializer, request)
        invitation = services.invitation_create(
            organization=self.get_organization(), email=data["email"], role=data["role"], invited_by=request.user
        )
        return Response(serializers.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="Invitation revoked")})
    def destroy(self, request, *args, **kwargs):
        services.invitation_revoke(invitation=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: serializers.InvitationSerializer})
    @idempotent
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        """Email a new link (the previous one stops working) and restart the expiry. ADMINs cannot resend an OWNER
        invitation (403 `role_grant_forbidden`), as they cannot revoke one."""
        invitation = services.invitation_resend(invitation=self.get_object(), actor=request.user)
        return Response(serializers.InvitationSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


@extend_validation_errors(
    [errors.INVITATION_INVALID, errors.INVITATION_EXPIRED, errors.INVITATION_USED, errors.INVITATION_REVOKED],
    field_name="token",
)
@extend_validation_errors([errors.INVITATION_EMAIL_MISMATCH, errors.EMAIL_NOT_VERIFIED], field_name="non_field_errors")
class InvitationAcceptView(APIView):
    """Join an organization with the token from an invitation email; answers the organization joined."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.InvitationAcceptSerializer, responses={200: serializers.OrganizationSerializer})
    @idempotent
    def post(self, request):
        data = validated(serializers.InvitationAcceptSerializer, request)
        membership = services.invitation_accept(token=data["token"], user=request.user)
        return Response(_organization_data(membership.organization, request.user))
