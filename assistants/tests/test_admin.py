"""The assistants admin: the thread page stays small and cheap on huge threads; an assistant in use keeps its
organization."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assistants import errors
from assistants.admin import INLINE_LIMIT
from assistants.models import Assistant, Message, Run
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, messages_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superadmin):
    client.force_login(superadmin)
    return client


def thread_page(thread) -> str:
    return reverse("admin:assistants_thread_change", args=[thread.pk])


def inline_rows(response, model) -> list:
    [formset] = [f.formset for f in response.context["inline_admin_formsets"] if f.formset.model is model]
    return [form.instance for form in formset.forms]


def test_thread_page_query_count_does_not_grow_with_messages_and_runs(admin_client, django_assert_num_queries):
    thread = ThreadFactory()
    MessageFactory(thread=thread, run=RunFactory(thread=thread))
    admin_client.get(thread_page(thread))  # the first request of a session warms caches (content types)
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(thread_page(thread)).status_code == 200
    for _ in range(9):
        MessageFactory(thread=thread, run=RunFactory(thread=thread))

    with django_assert_num_queries(len(one.captured_queries)):
        response = admin_client.get(thread_page(thread))

    assert len(inline_rows(response, Message)) == len(inline_rows(response, Run)) == 10


def test_thread_page_shows_the_latest_messages_and_links_to_all(admin_client):
    thread = ThreadFactory()
    start = timezone.now() - timedelta(days=1)
    messages = messages_at(thread, [start + timedelta(seconds=i) for i in range(INLINE_LIMIT + 5)])
    MessageFactory()  # another thread's

    response = admin_client.get(thread_page(thread))

    assert [m.pk for m in inline_rows(response, Message)] == [m.pk for m in messages[5:]]
    link = reverse("admin:assistants_message_changelist") + f"?thread__id__exact={thread.pk}"
    assert f'href="{link}"' in response.content.decode()
    listed = admin_client.get(link).context["cl"]
    assert listed.result_count == INLINE_LIMIT + 5


def test_thread_page_saves_with_its_capped_inlines(admin_client):
    thread = ThreadFactory(title="Old")
    start = timezone.now() - timedelta(days=1)
    messages_at(thread, [start + timedelta(seconds=i) for i in range(INLINE_LIMIT + 5)])
    page = admin_client.get(thread_page(thread))
    data = {"title": "New", "metadata": "{}"}
    for inline in page.context["inline_admin_formsets"]:
        data.update({f"{inline.formset.prefix}-{k}": v for k, v in inline.formset.management_form.initial.items()})
        for form in inline.formset.forms:
            data[f"{form.prefix}-id"] = str(form.instance.pk)
            data[f"{form.prefix}-thread"] = str(thread.pk)

    response = admin_client.post(thread_page(thread), data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    thread.refresh_from_db()
    assert thread.title == "New"
    assert Message.objects.filter(thread=thread).count() == INLINE_LIMIT + 5


def test_assistant_in_use_keeps_its_organization_in_the_admin(admin_client, org, other_org):
    assistant = AssistantFactory(organization=org, name="Helper")
    ThreadFactory(assistant=assistant, organization=org)
    url = reverse("admin:assistants_assistant_change", args=[assistant.pk])

    response = admin_client.post(
        url,
        {
            "name": "Helper",
            "description": "",
            "organization": str(other_org.pk),
            "is_active": "on",
            "model": "",
            "instructions": "",
            "settings": "{}",
            "metadata": "{}",
        },
        follow=True,
    )

    assert errors.ASSISTANT_MOVE_IN_USE_MESSAGE in [str(m) for m in response.context["messages"]]
    assert Assistant.objects.get(pk=assistant.pk).organization == org


def test_assistant_admin_refuses_null_characters_in_json(admin_client):
    response = admin_client.post(
        reverse("admin:assistants_assistant_add"),
        {
            "name": "Helper",
            "description": "",
            "is_active": "on",
            "model": "",
            "instructions": "",
            "settings": '{"stop": "\\u0000"}',
            "metadata": "{}",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["settings"].as_data()[0].code == "null_characters_not_allowed"
    assert not Assistant.objects.exists()
