from rest_framework import serializers

from accounts import serializers as account_serializers
from accounts.models import User
from organizations.models import Invitation, InvitationStatus, Membership, Organization, OrgRole
from organizations.scoping import organizations_visible_to


class OrganizationSerializer(serializers.ModelSerializer):
    """An organization as seen by the caller: `my_role` is the caller's role in it (null when not a member)."""

    my_role = serializers.ChoiceField(choices=OrgRole.choices, read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "created_by", "my_role", "member_count", "created_at", "updated_at"]
        read_only_fields = fields


class OrganizationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "organization", "role", "provisioned", "created_at", "updated_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    """Add an existing account, named by `user` (id) or `email`, that the caller already shares an organization
    with; everyone else is invited instead."""

    user = serializers.UUIDField(required=False)
    email = serializers.EmailField(max_length=254, required=False)
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)

    def validate(self, attrs):
        if ("user" in attrs) == ("email" in attrs):
            raise serializers.ValidationError("Give either `user` or `email`.", code="user_or_email")
        return attrs


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrgRole.choices)


class OwnershipTransferSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "organization",
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "accepted_at",
            "accepted_by",
            "revoked_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512)


class OrganizationField(serializers.PrimaryKeyRelatedField):
    """An organization id among the caller's own (any for staff); others read as nonexistent."""

    def get_queryset(self):
        return organizations_visible_to(self.context["request"].user)


class OrgUserCreateSerializer(account_serializers.UserCreateSerializer):
    """users/ create: staff may create any account; an organization's OWNER/ADMIN (PREMIUM) creates accounts
    straight into that organization as `organization_role`."""

    organization = OrganizationField(required=False, allow_null=True, pk_field=serializers.UUIDField())
    organization_role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)

    def validate(self, attrs):
        if attrs.get("organization") is None and not self.context["request"].user.is_staff:
            raise serializers.ValidationError(
                {"organization": "Give the organization to create the user in."}, code="required"
            )
        return attrs
