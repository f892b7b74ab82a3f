"""The one v1 router: every API URL starts here and leads to its app's views."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from accounts.views import UserViewSet
from assistants.views import AssistantViewSet, FileViewSet, MessageViewSet, RunViewSet, ThreadViewSet
from bazar.health import health
from organizations.views import (
    UUID_PATTERN,
    InvitationAcceptView,
    InvitationViewSet,
    MembershipViewSet,
    OrganizationViewSet,
)

# SimpleRouter: no browsable root view and no ".json" suffix routes; the API speaks JSON only.
router = SimpleRouter(trailing_slash=True)
router.register("users", UserViewSet, basename="user")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register(
    rf"organizations/(?P<organization_pk>{UUID_PATTERN})/members", MembershipViewSet, basename="organization-member"
)
router.register(
    rf"organizations/(?P<organization_pk>{UUID_PATTERN})/invitations",
    InvitationViewSet,
    basename="organization-invitation",
)
router.register("assistants", AssistantViewSet, basename="assistant")
router.register("threads", ThreadViewSet, basename="thread")
router.register(r"threads/(?P<thread_pk>[^/.]+)/messages", MessageViewSet, basename="thread-message")
router.register(r"threads/(?P<thread_pk>[^/.]+)/runs", RunViewSet, basename="thread-run")
router.register("files", FileViewSet, basename="file")

app_name = "api"

urlpatterns = [
    path("health/", health, name="health"),
    path("auth/", include("accounts.urls")),
    path("invitations/accept/", InvitationAcceptView.as_view(), name="invitation-accept"),
    *router.urls,
]
