import functools
import uuid

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend

from accounts import errors
from accounts.roles import is_staff_role
from accounts.tokens import active_user_counted, is_uuid, token_version_of
from bazar.throttling import COUNTED, PlanRateThrottle

# Access tokens whose signature a worker process has checked: a client sends the same token with every request
# for its whole lifetime, and checking it again each time was a sixth of a signed-in request's CPU.
VERIFIED_TOKENS = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified_claims(raw_token: bytes) -> dict:
    # Refusals raise, and lru_cache keeps no exceptions: a bad token is checked again every time.
    return token_backend.decode(raw_token, verify=True)


class _VerifiedOnceBackend:
    """simplejwt's token backend, remembering the claims of tokens it verified. Exactly the same bytes are needed
    to reuse them; the expiry is checked again on every request (Token.verify), against the clock of that request."""

    def decode(self, token, verify: bool = True) -> dict:
        return dict(_verified_claims(token)) if verify else token_backend.decode(token, verify=False)

    def __getattr__(self, name):
        return getattr(token_backend, name)


class AccessToken(tokens.AccessToken):
    """The access token the API accepts (SIMPLE_JWT AUTH_TOKEN_CLASSES); only its verification differs."""

    _token_backend = _VerifiedOnceBackend()


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT, checked against the stored user on every request (the cached copy, or one indexed query), so that
    blocking, deletion and password changes take effect at once and role/plan always come from the database.

    The read of the user also takes the request's count for PlanRateThrottle (bazar/throttling.py), in the scope the
    token's role and plan claims name: one cache round trip for both. So every signed-in request counts, also one
    that permissions then refuse (403); a request whose token is refused here is taken off again."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        user_id = token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise errors.token_not_valid()
        version = token_version_of(token)
        scope = PlanRateThrottle.scope_for(is_staff_role(token.get("role")), token.get("plan"))
        # Keyed like the throttle keys the user it loads (str of the pk); an id that is no UUID names no user.
        counter = PlanRateThrottle.counter_for(str(uuid.UUID(str(user_id))), scope) if is_uuid(user_id) else None
        try:
            user, count = active_user_counted(user_id, version, counter)
        except exceptions.AuthenticationFailed:
            if counter is not None:  # a refused token (revoked, blocked, deleted) must not spend its user's rate
                PlanRateThrottle.uncount(counter[0])
            raise
        if counter is not None:
            setattr(request, COUNTED, (counter[0], count))
        return user, token


class JWTScheme(SimpleJWTScheme):
    """Documents our JWTAuthentication as simplejwt's bearer scheme in the OpenAPI schema."""

    target_class = "accounts.authentication.JWTAuthentication"
