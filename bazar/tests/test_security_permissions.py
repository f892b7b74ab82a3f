"""ActionPermissionsMixin: per-action permission classes, the view's own classes for every other action."""

import pytest
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from bazar.permissions import ActionPermissionsMixin, IsStaff

pytestmark = pytest.mark.django_db


class ThingViewSet(ActionPermissionsMixin, viewsets.ViewSet):
    permission_classes = [IsAuthenticated]
    permission_classes_by_action = {"create": [IsStaff]}
    throttle_classes = []

    def list(self, request):
        return Response([])

    def create(self, request):
        return Response(status=201)

    @action(detail=False, permission_classes=[AllowAny])
    def public(self, request):
        return Response({})


def _call(actions: dict, user=None):
    method, name = next(iter(actions.items()))
    request = APIRequestFactory().generic(method.upper(), "/things/")
    if user is not None:
        force_authenticate(request, user=user)
    # As the router does: an @action's own settings (permission_classes=...) are its view's init kwargs.
    initkwargs = getattr(getattr(ThingViewSet, name), "kwargs", {})
    return ThingViewSet.as_view(actions, **initkwargs)(request)


def test_action_in_the_map_uses_its_classes(free_user, staff_admin):
    refused = _call({"post": "create"}, free_user)

    assert refused.status_code == 403
    assert [error["code"] for error in refused.data["errors"]] == [IsStaff.code]
    assert _call({"post": "create"}, staff_admin).status_code == 201


def test_action_outside_the_map_uses_the_views_classes(free_user):
    assert _call({"get": "list"}).status_code == 401
    assert _call({"get": "list"}, free_user).status_code == 200


def test_extra_action_keeps_its_own_classes():
    assert _call({"get": "public"}).status_code == 200
