from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (capped at MAX_PAGE_SIZE) with DRF's count/next/previous/results."""

    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE


class CreatedCursorPagination(pagination.CursorPagination):
    """Keyset pagination on (created_at, id): a deep page costs what the first one does."""

    ordering = ("created_at", "id")
    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        # `?ordering=-created_at` keeps the id tie-breaker, in the same direction, so equal times stay ordered.
        if len(ordering) == 1 and ordering[0].lstrip("-") == "created_at":
            ordering = (ordering[0], ordering[0].replace("created_at", "id"))
        return ordering
