from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import errors, serializers, services, tokens
from accounts.authentication import JWTAuthentication
from accounts.caching import LIST_CACHE
from accounts.hashers import refusing_when_busy
from accounts.models import User
from accounts.roles import Plan
from bazar.caching import CachedListMixin
from bazar.exceptions import ForbiddenResponseSerializer, UnauthorizedResponseSerializer
from bazar.idempotency import idempotent
from bazar.permissions import ActionPermissionsMixin, IsOrgAdminAnywhere, PlanRequired
from bazar.throttling import AccountEmailThrottle, AuthScopedThrottle, UserEmailThrottle
from bazar.validation import validated
from organizations import services as org_services
from organizations.errors import LAST_OWNER
from organizations.scoping import users_visible_to
from organizations.serializers import OrgUserCreateSerializer

ACCEPTED = {"detail": "If an account matches, an email is on its way."}


class PublicAuthView(APIView):
    """Base of the public auth endpoints: no authentication, throttled per client address."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthScopedThrottle]

    def get_authenticate_header(self, request):
        # Without authenticators DRF turns every 401 (bad credentials, bad refresh token) into a 403.
        return JWTAuthentication().authenticate_header(request)

    def dispatch(self, request, *args, **kwargs):
        # The endpoints anyone can flood: a password hash that would wait is refused (accounts/hashers.py).
        with refusing_when_busy():
            return super().dispatch(request, *args, **kwargs)


@extend_validation_errors([errors.EMAIL_TAKEN], field_name="email")
@extend_validation_errors(errors.PASSWORD_CODES, field_name="password")
class RegisterView(PublicAuthView):
    throttle_scope = "auth_register"

    @extend_schema(request=serializers.RegisterSerializer, responses={201: serializers.UserSerializer})
    def post(self, request):
        data = validated(serializers.RegisterSerializer, request)
        user = services.user_register(**data)
        return Response(serializers.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    throttle_scope = "auth_login"

    @extend_schema(
        request=serializers.LoginSerializer,
        responses={
            200: serializers.LoginResponseSerializer,
            401: OpenApiResponse(UnauthorizedResponseSerializer, description="`invalid_credentials`"),
            403: OpenApiResponse(ForbiddenResponseSerializer, description="`account_blocked`, `email_not_verified`"),
        },
    )
    def post(self, request):
        data = validated(serializers.LoginSerializer, request)
        user = services.user_login(email=data["email"], password=data["password"], request=request)
        return Response({**tokens.token_pair_for(user), "user": serializers.UserSerializer(user).data})


class RefreshView(PublicAuthView):
    throttle_scope = "auth_token"

    @extend_schema(
        request=serializers.RefreshSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            401: OpenApiResponse(
                UnauthorizedResponseSerializer,
                description="`token_not_valid` (reusing a rotated token also revokes every token of the account), "
                "`token_revoked`, `account_blocked`, `user_inactive`",
            ),
        },
    )
    def post(self, request):
        data = validated(serializers.RefreshSerializer, request)
        return Response(tokens.refresh_rotate(data["refresh"]))


class LogoutView(PublicAuthView):
    throttle_scope = "auth_token"

    @extend_schema(
        request=serializers.RefreshSerializer,
        responses={
            204: OpenApiResponse(description="The refresh token is blacklisted."),
            401: OpenApiResponse(UnauthorizedResponseSerializer, description="`token_not_valid`"),
        },
    )
    def post(self, request):
        data = validated(serializers.RefreshSerializer, request)
        try:
            RefreshToken(data["refresh"]).blacklist()
        except TokenError as exc:
            raise errors.token_not_valid() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_validation_errors([errors.TOKEN_INVALID, errors.TOKEN_EXPIRED], field_name="token")
class VerifyEmailView(PublicAuthView):
    throttle_scope = "auth_email"

    @extend_schema(request=serializers.TokenSerializer, responses={200: serializers.UserSerializer})
    def post(self, request):
        data = validated(serializers.TokenSerializer, request)
        user = services.email_verify(token=data["token"])
        return Response(serializers.UserSerializer(user).data)


class ResendVerificationView(PublicAuthView):
    throttle_scope = "auth_email"
    throttle_classes = [AuthScopedThrottle, AccountEmailThrottle]  # per client address and per target account

    @extend_schema(request=serializers.EmailSerializer, responses={202: serializers.DetailSerializer})
    def post(self, request):
        data = validated(serializers.EmailSerializer, request)
        services.verification_resend(email=data["email"])
        return Response(ACCEPTED, status=status.HTTP_202_ACCEPTED)


class ForgotPasswordView(PublicAuthView):
    throttle_scope = "auth_email"
    throttle_classes = [AuthScopedThrottle, AccountEmailThrottle]  # per client address and per target account

    @extend_schema(request=serializers.EmailSerializer, responses={202: serializers.DetailSerializer})
    def post(self, request):
        data = validated(serializers.EmailSerializer, request)
        services.password_reset_request(email=data["email"])
        return Response(ACCEPTED, status=status.HTTP_202_ACCEPTED)


@extend_validation_errors([errors.TOKEN_INVALID, errors.TOKEN_EXPIRED], field_name="token")
@extend_validation_errors(errors.PASSWORD_CODES, field_name="password")
class ResetPasswordView(PublicAuthView):
    throttle_scope = "auth_email"

    @extend_schema(request=serializers.ResetPasswordSerializer, responses={200: serializers.DetailSerializer})
    def post(self, request):
        data = validated(serializers.ResetPasswordSerializer, request)
        services.password_reset_confirm(token=data["token"], password=data["password"])
        return Response({"detail": "Password has been reset. Log in with the new password."})


@extend_validation_errors([errors.WRONG_PASSWORD], field_name="current_password")
@extend_validation_errors(errors.PASSWORD_CODES, field_name="new_password")
class ChangePasswordView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.ChangePasswordSerializer, responses={200: serializers.TokenPairSerializer})
    def post(self, request):
        data = validated(serializers.ChangePasswordSerializer, request)
        user = services.password_change(user=request.user, **data)
        # Every earlier token is revoked; this client gets a fresh pair so it stays logged in.
        return Response(tokens.token_pair_for(user))


class UserFilter(filters.FilterSet):
    class Meta:
        model = User
        fields = ["role", "plan", "is_verified", "is_blocked", "is_active"]


@extend_validation_errors(
    [errors.EMAIL_TAKEN], field_name="email", actions=["create", "update", "partial_update", "me"]
)
@extend_validation_errors(errors.PASSWORD_CODES, field_name="password", actions=["create"])
# Deleting an account that is the last OWNER of an organization is refused (accounts.services).
@extend_validation_errors([LAST_OWNER], field_name="non_field_errors", actions=["destroy"])
@extend_validation_errors([LAST_OWNER], field_name="non_field_errors", actions=["me"], methods=["delete"])
# The last active SUPERADMIN is not demoted (accounts.services).
@extend_validation_errors([errors.LAST_SUPERADMIN], field_name="non_field_errors", actions=["update", "partial_update"])
# Non-staff must name the organization to create the account in (OrgUserCreateSerializer.validate).
@extend_validation_errors(["required"], field_name="organization", actions=["create"])
@extend_schema_view(
    partial_update=extend_schema(request=serializers.UserUpdateSerializer, responses={200: serializers.UserSerializer})
)
class UserViewSet(
    CachedListMixin,
    ActionPermissionsMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Users. Staff see everyone; others see themselves and the people they share an organization with.

    Staff create, change and delete accounts (services enforce the SUPERADMIN rules). A PREMIUM OWNER/ADMIN of an
    organization creates accounts into it, changes its members' profiles and removes them from it. The list comes
    from the cache until a write to a user or a membership could change it (accounts/caching.py).
    """

    list_cache = LIST_CACHE
    serializer_class = serializers.UserSerializer
    filterset_class = UserFilter
    search_fields = ["email", "full_name"]
    ordering_fields = ["created_at", "email", "full_name", "role", "plan"]
    required_plan = {action: Plan.PREMIUM for action in ("create", "update", "partial_update", "destroy")}
    permission_classes_by_action = {
        "create": [PlanRequired, IsOrgAdminAnywhere],
        "update": [PlanRequired],
        "partial_update": [PlanRequired],
        "destroy": [PlanRequired],
    }

    def get_throttles(self):
        return [*super().get_throttles(), UserEmailThrottle()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return User.objects.none()
        users = users_visible_to(self.request.user)
        # A read never needs the password hash; writes load it, for the services that may check or change it.
        return users.defer("password") if self.request.method in SAFE_METHODS else users

    def get_serializer_class(self):
        return {
            "create": OrgUserCreateSerializer,
            "update": serializers.UserUpdateSerializer,
            "partial_update": serializers.UserUpdateSerializer,
        }.get(self.action, serializers.UserSerializer)

    def _user_data(self, user: User) -> dict:
        return serializers.UserSerializer(user, context=self.get_serializer_context()).data

    @extend_schema(request=OrgUserCreateSerializer, responses={201: serializers.UserSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization, org_role = data.pop("organization", None), data.pop("organization_role")
        password = data.pop("password", None)
        if organization is None:  # staff only: the serializer requires an organization from anyone else
            user = services.user_create(**data, password=password, actor=request.user)
        else:
            user = org_services.org_user_create(
                organization=organization, org_role=org_role, password=password, actor=request.user, **data
            )
        return Response(self._user_data(user), status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.UserUpdateSerializer, responses={200: serializers.UserSerializer})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        target = self.get_object()
        serializer = serializers.UserUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if request.user.is_staff:
            user = services.user_update(user=target, actor=request.user, data=serializer.validated_data)
        else:
            user = org_services.org_user_update(user=target, actor=request.user, data=serializer.validated_data)
        return Response(self._user_data(user))

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Staff delete (deactivate) the account; an organization OWNER/ADMIN removes it from its organizations."""
        target = self.get_object()
        if request.user.is_staff:
            services.user_deactivate(user=target, actor=request.user)
        else:
            org_services.org_user_remove(user=target, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses={200: serializers.UserSerializer})
    @extend_schema(
        methods=["PATCH"], request=serializers.ProfileUpdateSerializer, responses={200: serializers.UserSerializer}
    )
    @extend_schema(methods=["DELETE"], responses={204: OpenApiResponse(description="Account deleted")})
    @action(detail=False, methods=["get", "patch", "delete"], permission_classes=[IsAuthenticated])
    def me(self, request):
        """The caller's own account: read it, change the profile, or delete it."""
        if request.method == "GET":
            return Response(serializers.UserSerializer(request.user).data)
        if request.method == "DELETE":
            services.user_deactivate(user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = serializers.ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, actor=None, data=serializer.validated_data)
        return Response(serializers.UserSerializer(user).data)
