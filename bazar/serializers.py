"""Serializer building blocks shared by the apps."""

import operator
from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField, RelatedField

# Fields whose output may depend on the serializer's context or parent, so a shared copy would be wrong.
_CONTEXT_BOUND = (serializers.BaseSerializer, serializers.SerializerMethodField, serializers.HiddenField)


def _reader(model, field) -> Callable:
    """How to read a field's value off an instance: a plain attribute read for a concrete, non-relational model
    field (its value is never callable, and reading it cannot fail), else DRF's own lookup."""
    if len(field.source_attrs) == 1 and type(getattr(model, field.source_attrs[0], None)) is DeferredAttribute:
        return operator.attrgetter(field.source_attrs[0])
    return field.get_attribute


class FastReadModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that writes out through fields built once per class.

    DRF builds a ModelSerializer's fields, introspecting the model, for every serializer it creates: for a single
    object that is most of the response's CPU (users/me: 0.42 of 3.1 ms). Writing out needs no per-instance
    state for plain and primary-key fields, so `to_representation` uses one shared, context-free set; input
    validation and the OpenAPI schema still use DRF's own per-instance fields. Output is DRF's, field for field
    (bazar/tests/test_serializers.py), at about half the CPU per row: plain model fields are read with a plain
    attribute read, and date-times are written in the default time zone (UTC; nothing activates another) without
    looking up the active one for every value.
    """

    _read_plan: list | None = None

    @classmethod
    def read_plan(cls) -> list[tuple[str, Callable, Callable]]:
        """(name, read, represent) for each field written out."""
        if cls.__dict__.get("_read_plan") is None:
            plan = []
            for field in cls(context={})._readable_fields:
                related = getattr(field, "child_relation", field)  # many=True wraps the related field
                # Of the related fields only primary keys are known to need no request (hyperlinks do).
                if isinstance(field, _CONTEXT_BOUND) or (
                    isinstance(related, RelatedField) and not isinstance(related, PrimaryKeyRelatedField)
                ):
                    raise ImproperlyConfigured(f"{cls.__name__}.{field.field_name} depends on the context")
                if settings.USE_TZ and isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone"):
                    field.timezone = timezone.get_default_timezone()
                plan.append((field.field_name, _reader(cls.Meta.model, field), field.to_representation))
            cls._read_plan = plan
        return cls._read_plan

    def read_plan_for(self, instance) -> list[tuple[str, Callable, Callable]]:
        """The plan to write `instance` with: a subclass that shows some fields only to some callers narrows it here,
        so that what is not shown is not computed either."""
        return self.read_plan()

    def to_representation(self, instance) -> dict:
        if isinstance(instance, Mapping):  # validated data, not a model instance: DRF's own lookups handle it
            return super().to_representation(instance)
        data = {}
        for name, read, represent in self.read_plan_for(instance):
            try:
                attribute = read(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            data[name] = None if check_for_none is None else represent(attribute)
        return data
