import logging

from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response

logger = logging.getLogger(__name__)

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "database": serializers.CharField(),
        "cache": serializers.CharField(),
    },
)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health: database check failed")
        return False


def _cache_ok() -> bool:
    try:
        client = getattr(cache, "client", None)
        if client is not None and hasattr(client, "get_client"):
            # django-redis swallows errors on get/set (IGNORE_EXCEPTIONS); ask the server directly.
            return bool(client.get_client(write=True).ping())
        cache.set("health:probe", "1", 5)
        return cache.get("health:probe") == "1"
    except Exception:
        logger.exception("health: cache check failed")
        return False


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def health(request):
    """Database and cache checked: 200 when both answer, 503 otherwise."""
    database, cache_state = _database_ok(), _cache_ok()
    healthy = database and cache_state
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database else "unavailable",
        "cache": "ok" if cache_state else "unavailable",
    }
    return Response(body, status=200 if healthy else 503)
