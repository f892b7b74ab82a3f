from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts import errors
from accounts.tokens import active_user, token_version_of


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT, checked against the stored user on every request (one indexed query), so that blocking,
    deletion and password changes take effect at once and role/plan always come from the database."""

    def get_user(self, validated_token):
        if api_settings.USER_ID_CLAIM not in validated_token:
            raise errors.token_not_valid()
        return active_user(validated_token[api_settings.USER_ID_CLAIM], token_version_of(validated_token))


class JWTScheme(SimpleJWTScheme):
    """Documents our JWTAuthentication as simplejwt's bearer scheme in the OpenAPI schema."""

    target_class = "accounts.authentication.JWTAuthentication"
