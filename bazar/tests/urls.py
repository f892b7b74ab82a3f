"""Test-only URLs: the real ones plus views that exist to prove behaviour (errors, idempotency)."""

import threading

from django.db import IntegrityError, connection
from django.urls import path
from django.utils.text import slugify
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from bazar.idempotency import idempotent
from bazar.urls import handler400, handler403, handler404, handler500  # noqa: F401
from bazar.urls import urlpatterns as real_urlpatterns
from organizations.models import Organization

SECRET_IN_MESSAGE = "SELECT password FROM users WHERE email = 'x' -- {secret}"


class BoomView(APIView):
    """Fails the way a bug would, with SQL and a secret in the exception message."""

    def get(self, request):
        from django.conf import settings

        raise RuntimeError(SECRET_IN_MESSAGE.format(secret=settings.SECRET_KEY))


class DatabaseBoomView(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM table_that_does_not_exist_xyz")
        return Response({})


class IntegrityBoomView(APIView):
    def post(self, request):
        raise IntegrityError('duplicate key value violates unique constraint "users_email_key" DETAIL: Key (email)')


def plain_django_boom(request):
    raise ValueError("plain Django view failure with /etc/passwd and DATABASES")


class ThingSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class IdempotentThingView(GenericAPIView):
    """Creates an organization row per call; `gate` lets a test hold a request in the middle of its write."""

    serializer_class = ThingSerializer

    gate: threading.Event | None = None
    started: threading.Event | None = None

    @idempotent
    def post(self, request):
        serializer = ThingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data["name"]
        if name == "invalid":
            raise ValidationError({"name": ["Refused."]}, code="invalid_name")
        if IdempotentThingView.started is not None:
            IdempotentThingView.started.set()
        if IdempotentThingView.gate is not None:
            IdempotentThingView.gate.wait(timeout=10)
        organization = Organization.objects.create(
            name=name, slug=f"{slugify(name)}-{Organization.objects.count()}", created_by=request.user
        )
        if name == "server-error":
            return Response({"detail": "failed"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        return Response(
            {"id": str(organization.pk), "name": organization.name},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/things/{organization.pk}/"},
        )


urlpatterns = [
    *real_urlpatterns,
    path("test/boom/", BoomView.as_view(), name="test-boom"),
    path("test/db-boom/", DatabaseBoomView.as_view(), name="test-db-boom"),
    path("test/integrity-boom/", IntegrityBoomView.as_view(), name="test-integrity-boom"),
    path("test/plain-boom/", plain_django_boom, name="test-plain-boom"),
    path("test/things/", IdempotentThingView.as_view(), name="test-things"),
]
