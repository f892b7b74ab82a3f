from django.conf import settings
from rest_framework import mixins, pagination
from rest_framework.exceptions import APIException


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


class ParentScopedListMixin(mixins.ListModelMixin):
    """A list of a parent's rows (an organization's members, a thread's messages) whose queryset reaches the parent
    through the caller's scope, so that the parent costs no query of its own. `check_parent()` looks it up (404 out
    of scope, 403 for a role too low) only when the list has no rows to show or fails: what it refuses comes first."""

    def check_parent(self) -> None:
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        try:
            response = super().list(request, *args, **kwargs)
        except APIException:  # an invalid filter, page or cursor
            self.check_parent()
            raise
        if not response.data["results"]:
            self.check_parent()
        return response
