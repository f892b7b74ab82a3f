"""The one v1 router: every API URL starts here and leads to its app's views."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.views import UserViewSet
from bazar.health import health

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", UserViewSet, basename="user")

app_name = "api"

urlpatterns = [
    path("health/", health, name="health"),
    path("auth/", include("accounts.urls")),
    *router.urls,
]
