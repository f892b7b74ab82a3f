from rest_framework import serializers

from accounts.models import User
from accounts.roles import Plan, Role


class UserSerializer(serializers.ModelSerializer):
    """A user as every endpoint returns it."""

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
