from rest_framework import serializers

from accounts.models import User
from accounts.roles import Plan, Role
from bazar.serializers import FastReadModelSerializer


class UserSerializer(FastReadModelSerializer):
    """A user as every endpoint returns it.

    Staff and the user itself get every field; another signed-in caller (a colleague in an organization) gets the
    public profile, without the block reason, the deletion state and the times of verification and last change.
    The caller is the context's request user; without a request (login, register, users/me) every field is shown.
    """

    PRIVATE_FIELDS = ("verified_at", "blocked_reason", "is_active", "updated_at")
    _public_read_plan: list | None = None

    # Declared, so neither read-only nor required in the OpenAPI schema (Meta.read_only_fields skips declared
    # fields): some callers do not get them. The serializer only ever writes out.
    verified_at = serializers.DateTimeField(required=False, allow_null=True)
    blocked_reason = serializers.CharField(required=False)
    is_active = serializers.BooleanField(required=False)
    updated_at = serializers.DateTimeField(required=False)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "plan",
            "is_verified",
            "verified_at",
            "is_blocked",
            "blocked_reason",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @classmethod
    def public_read_plan(cls) -> list:
        """The read plan without PRIVATE_FIELDS, built once per class."""
        if cls.__dict__.get("_public_read_plan") is None:
            cls._public_read_plan = [entry for entry in cls.read_plan() if entry[0] not in cls.PRIVATE_FIELDS]
        return cls._public_read_plan

    def read_plan_for(self, instance) -> list:
        request = self.context.get("request")
        viewer = getattr(request, "user", None)
        if viewer is not None and viewer.is_authenticated and not (viewer.is_staff or viewer.pk == instance.pk):
            return self.public_read_plan()
        return self.read_plan()


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves."""

    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, required=False)


class UserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.USER)
    plan = serializers.ChoiceField(choices=Plan.choices, required=False, default=Plan.FREE)
    is_verified = serializers.BooleanField(required=False, default=False)


class UserUpdateSerializer(ProfileUpdateSerializer):
    """Staff may also change plan, role (SUPERADMIN only) and block state."""

    role = serializers.ChoiceField(choices=Role.choices, required=False)
    plan = serializers.ChoiceField(choices=Plan.choices, required=False)
    is_blocked = serializers.BooleanField(required=False)
    blocked_reason = serializers.CharField(max_length=255, allow_blank=True, required=False)


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2048)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=2048)


class EmailSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ResetPasswordSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=2048)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class ChangePasswordSerializer(serializers.Serializer):
    current_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
