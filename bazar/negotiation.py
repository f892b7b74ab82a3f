"""DRF's content negotiation, with its answer remembered (REST_FRAMEWORK DEFAULT_CONTENT_NEGOTIATION_CLASS)."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's choice of renderer, remembered per Accept header, `format` and the view's renderer classes.

    A client sends the same Accept header with every request; parsing it again each time cost users/me 1.5% of its
    instructions (2,423K -> 2,387K, scripts/bench/instructions.py). Refusals (406, 404) are not remembered: they are
    worked out, and raised, every time."""

    # Distinct (Accept, format, renderers) seen in one process; past it, the memory starts again from empty.
    REMEMBERED = 256
    _chosen: dict[tuple, tuple[int, str]] = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        format_ = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (request.META.get("HTTP_ACCEPT"), format_, tuple(type(renderer) for renderer in renderers))
        chosen = self._chosen.get(key)
        if chosen is None:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
            if len(self._chosen) >= self.REMEMBERED:
                self._chosen.clear()
            chosen = self._chosen[key] = (renderers.index(renderer), media_type)
        index, media_type = chosen
        return renderers[index], media_type

    @classmethod
    def forget(cls) -> None:
        cls._chosen.clear()
