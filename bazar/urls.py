from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

admin.site.site_header = "Bazar admin"
admin.site.site_title = "Bazar admin"
admin.site.index_title = "Administration"

urlpatterns = [
    path("api/v1/", include("bazar.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script from a URL instead of inline, so SECURE_CSP allows it.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
]

handler400 = "bazar.exceptions.bad_request"
handler403 = "bazar.exceptions.permission_denied"
handler404 = "bazar.exceptions.not_found"
handler500 = "bazar.exceptions.server_error"
