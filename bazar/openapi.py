"""The OpenAPI schema class: drf-standardized-errors' AutoSchema, told about 400s that DRF raises but no field lists.

The fuzz step (.ci/fuzz.sh) checks every response against the schema, so the schema must say what really comes
back. Two answers of DRF itself are missing from the generated 400 bodies:
- a search term with a NUL character: `?search=` fails with `null_characters_not_allowed` and no attr; so does a
  filter on a relation (`?organization=`), with its name;
- a malformed id for a related object whose primary key is a UUID: Django's UUIDField refuses it with `invalid`
  before DRF's related field can say `does_not_exist`;
- an error inside a list names its item (`file_ids.0`), where the generated schema names `file_ids.INDEX`:
  `postprocess_indexed_attrs` turns such names into patterns.
Codes that services raise are listed per view with `@extend_validation_errors`, next to the views.
"""

import re

from django import forms
from django.db import models
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from rest_framework import filters, serializers

NULL_CHARACTERS = "null_characters_not_allowed"


def _has_uuid_primary_key(field: serializers.Field) -> bool:
    if isinstance(getattr(field, "pk_field", None), serializers.UUIDField):
        return True
    queryset = getattr(field, "queryset", None)
    return queryset is not None and isinstance(queryset.model._meta.pk, models.UUIDField)


class AutoSchema(StandardizedAutoSchema):
    def _determine_fields_with_error_codes(self):
        fields = super()._determine_fields_with_error_codes()
        for data_field in fields:
            related = getattr(data_field.field, "child_relation", data_field.field)
            if isinstance(related, serializers.PrimaryKeyRelatedField) and _has_uuid_primary_key(related):
                data_field.error_codes.add("invalid")
            if isinstance(data_field.field, forms.ModelChoiceField):  # django-filter's filters on relations
                data_field.error_codes.add(NULL_CHARACTERS)
        return fields

    def _get_extra_validation_errors(self):
        extra = dict(super()._get_extra_validation_errors())
        searches = any(issubclass(backend, filters.SearchFilter) for backend in self.get_filter_backends())
        if self.method == "GET" and searches and getattr(self.view, "search_fields", None):
            extra[None] = {*extra.get(None, ()), NULL_CHARACTERS}
        return extra


def _attr_pattern(name: str) -> str:
    parts = [r"\d+" if part == "INDEX" else "[^.]+" if part == "KEY" else re.escape(part) for part in name.split(".")]
    return "^" + r"\.".join(parts) + "$"


def postprocess_indexed_attrs(result, generator, request, public):
    """SPECTACULAR_SETTINGS hook: an error component for `items.INDEX.name` accepts `items.0.name`, `items.1.name`…"""
    for component in result.get("components", {}).get("schemas", {}).values():
        attr = component.get("properties", {}).get("attr")
        values = attr.get("enum") if isinstance(attr, dict) else None
        if values and len(values) == 1 and isinstance(values[0], str):
            parts = values[0].split(".")
            if "INDEX" in parts or "KEY" in parts:
                component["properties"]["attr"] = {"type": "string", "pattern": _attr_pattern(values[0])}
    return result


def postprocess_request_line_limit(result, generator, request, public):
    """SPECTACULAR_SETTINGS hook: gunicorn answers 414 (an HTML page) before Django sees a request line over its
    limit (4094 bytes by default), so every operation can answer it."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "414",
                    {
                        "description": "Request line too long (gunicorn's limit_request_line)",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                )
    return result
