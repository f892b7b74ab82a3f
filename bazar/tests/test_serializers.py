"""FastReadModelSerializer writes out exactly what DRF's ModelSerializer would, for every serializer built on it."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers

from accounts.models import User
from accounts.roles import Plan
from accounts.serializers import UserSerializer
from accounts.tests.factories import UserFactory
from assistants.serializers import AssistantSerializer, MessageSerializer, RunSerializer, ThreadSerializer
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, make_file
from bazar.serializers import FastReadModelSerializer
from organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

# Not UTC, with microseconds: DRF's own output converts to UTC and writes a "Z".
ODD_TIME = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))


def _both(serializer_class, instance) -> tuple[dict, dict]:
    serializer = serializer_class(instance, context={})
    return (
        FastReadModelSerializer.to_representation(serializer, instance),
        serializers.ModelSerializer.to_representation(serializer, instance),
    )


def _instances():
    blocked = UserFactory(is_blocked=True, blocked_reason="spam", verified_at=None, full_name="")
    user = UserFactory(plan=Plan.PREMIUM)  # a plan whose organizations may store files
    organization = OrganizationFactory(owner=user)
    assistant = AssistantFactory(organization=organization, settings={"temperature": 0.2}, metadata={"a": [1]})
    thread = ThreadFactory(owner=user, assistant=assistant, organization=organization, metadata={"k": "v"})
    message = MessageFactory(thread=thread, content="hello")
    message.file_ids = [make_file(organization=organization, uploaded_by=user).pk]
    run = RunFactory(thread=thread, started_at=ODD_TIME, finished_at=None, created_by=None, usage={"tokens": 3})
    run.files.add(make_file(organization=organization, uploaded_by=user, name="b.txt"))
    no_files = MessageFactory(thread=thread, run=run)
    no_files.file_ids = []
    return [
        (UserSerializer, blocked),
        (UserSerializer, user),
        (AssistantSerializer, assistant),
        (AssistantSerializer, AssistantFactory()),  # platform-wide: organization None
        (ThreadSerializer, thread),
        (MessageSerializer, message),
        (MessageSerializer, no_files),
        (RunSerializer, RunFactory(thread=thread)),
        (RunSerializer, run),
    ]


def _subclasses(cls) -> set:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_every_fast_serializer_is_checked_here():
    in_the_apps = {cls for cls in _subclasses(FastReadModelSerializer) if cls.__module__ != __name__}
    assert in_the_apps == {
        UserSerializer,
        AssistantSerializer,
        ThreadSerializer,
        MessageSerializer,
        RunSerializer,
    }


def test_output_is_drfs_field_for_field():
    for serializer_class, instance in _instances():
        fast, drf = _both(serializer_class, instance)
        assert fast == drf, serializer_class.__name__
        assert list(fast) == list(drf), serializer_class.__name__  # the same order too


def test_date_times_are_written_in_utc_whatever_time_zone_they_carry():
    user = UserFactory()
    user.verified_at = ODD_TIME  # as a value set in code, not yet reloaded from the database, would be
    fast, drf = _both(UserSerializer, user)
    assert fast["verified_at"] == drf["verified_at"] == "2026-03-03T23:36:07.891011Z"


def test_date_times_stay_in_the_default_time_zone_even_if_another_is_activated():
    user = UserFactory()
    user.verified_at = ODD_TIME
    with timezone.override("Asia/Tokyo"):  # nothing in Bazar activates one; this pins what would happen
        assert UserSerializer(user).data["verified_at"] == "2026-03-03T23:36:07.891011Z"


def test_validated_data_is_written_out_like_drf_does():
    serializer = ThreadSerializer(data={})
    data = {"title": "t", "metadata": {}}
    assert FastReadModelSerializer.to_representation(serializer, data) == serializers.ModelSerializer.to_representation(
        serializer, data
    )


def test_a_deferred_field_is_still_loaded_on_read():
    pk = UserFactory(full_name="Ada").pk
    fast, drf = _both(UserSerializer, User.objects.only("id").get(pk=pk))
    assert fast == drf
    assert fast["full_name"] == "Ada"


def test_a_context_bound_many_related_field_is_refused():
    class WithLinks(FastReadModelSerializer):
        runs = serializers.HyperlinkedRelatedField(many=True, read_only=True, view_name="api:run-detail")

        class Meta:
            model = User
            fields = ["id", "runs"]

    with pytest.raises(ImproperlyConfigured, match="runs"):
        WithLinks(UserFactory()).data  # noqa: B018 (the read builds the plan)


def test_a_context_bound_field_is_refused():
    class WithMethod(FastReadModelSerializer):
        hello = serializers.SerializerMethodField()

        class Meta:
            model = User
            fields = ["id", "hello"]

        def get_hello(self, obj):
            return "hi"

    with pytest.raises(ImproperlyConfigured, match="hello"):
        WithMethod(UserFactory()).data  # noqa: B018 (the read builds the plan)


def test_user_serializer_shows_a_colleague_the_full_row_minus_the_private_fields():
    viewer, colleague = UserFactory(), UserFactory(is_blocked=True, blocked_reason="spam")
    request = type("Request", (), {"user": viewer})()

    seen_by_colleague = UserSerializer(colleague, context={"request": request}).data
    seen_by_self = UserSerializer(colleague, context={"request": type("Request", (), {"user": colleague})()}).data

    assert set(seen_by_self) - set(seen_by_colleague) == set(UserSerializer.PRIVATE_FIELDS)
    assert seen_by_colleague == {k: v for k, v in seen_by_self.items() if k not in UserSerializer.PRIVATE_FIELDS}
