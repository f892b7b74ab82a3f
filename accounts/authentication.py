from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts import errors
from accounts.models import User


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT, checked against the stored user on every request (one indexed query), so that blocking,
    deletion and password changes take effect at once and role/plan always come from the database."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = User.objects.filter(pk=user_id).first()
        if user is None or not user.is_active:
            raise AuthenticationFailed("User not found or deactivated.", code="user_inactive")
        if user.is_blocked:
            raise AuthenticationFailed(errors.AccountBlocked.default_detail, code=errors.ACCOUNT_BLOCKED)
        if validated_token.get("ver", 0) != user.token_version:
            raise AuthenticationFailed("This token has been revoked.", code=errors.TOKEN_REVOKED)
        return user
