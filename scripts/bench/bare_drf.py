"""Calibration for `make bench`: a bare DRF view (no middleware, authentication, permission, throttle or database)
answering a tiny JSON body, served by the same gunicorn settings as Bazar. Bazar's rows are read against it: it is
what Django and DRF alone cost on this machine, before anything Bazar does."""

import django
from django.conf import settings
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-calibration-only",  # serves one constant answer, signs nothing
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={},
    USE_TZ=True,
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_THROTTLE_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class Status(APIView):
    def get(self, request):
        return Response({"status": "ok"})


urlpatterns = [path("", Status.as_view())]
application = get_wsgi_application()
