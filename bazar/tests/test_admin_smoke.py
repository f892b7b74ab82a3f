"""Every admin page answers: changelist, search, add and change for a superadmin; the staff subset for ADMIN."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.backends import STAFF_GROUP_NAME
from accounts.tests.factories import UserFactory
from bazar.tests.admin_data import DB_TASKS, admin_data

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)

# What the "Bazar staff" group (and so every ADMIN) may see in the admin.
STAFF_MODELS = {
    "accounts.User",
    "organizations.Organization",
    "organizations.Membership",
    "organizations.Invitation",
    "assistants.Assistant",
    "assistants.Thread",
    "assistants.Message",
    "assistants.Run",
    "assistants.File",
}
STAFF_CAN_ADD = {"organizations.Membership", "assistants.Assistant"}


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def data(superadmin, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = DB_TASKS
    return admin_data(staff=superadmin)


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_pages_answer_200_for_superadmin(client, superadmin, data, model):
    model_admin = admin.site._registry[model]
    client.force_login(superadmin)
    obj = model_admin.get_queryset(_request_as(superadmin)).first()
    assert obj is not None, f"admin_data() makes no {model._meta.label}"

    assert client.get(url(model, "changelist")).status_code == 200
    if model_admin.search_fields:
        searched = client.get(url(model, "changelist"), {"q": "acme"})
        assert searched.status_code == 200
        assert "cl" in searched.context
    if model_admin.has_add_permission(_request_as(superadmin)):
        assert client.get(url(model, "add")).status_code == 200
    assert client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_pages_follow_staff_group_for_admin(client, staff_admin, superadmin, data, model):
    client.force_login(staff_admin)
    label = model._meta.label
    obj = model._default_manager.first()
    changelist = client.get(url(model, "changelist"))
    change = client.get(url(model, "change", obj.pk))
    add = client.get(url(model, "add"))
    if label in STAFF_MODELS:
        assert (changelist.status_code, change.status_code) == (200, 200)
    else:
        assert (changelist.status_code, change.status_code) == (403, 403)
    assert (add.status_code == 200) is (label in STAFF_CAN_ADD)


def test_admin_index_lists_only_staff_models_for_admin(client, staff_admin):
    client.force_login(staff_admin)
    response = client.get(reverse("admin:index"))
    listed = {f"{app['app_label']}.{m['object_name']}" for app in response.context["app_list"] for m in app["models"]}
    assert listed == STAFF_MODELS


def test_admin_index_lists_everything_for_superadmin(client, superadmin):
    client.force_login(superadmin)
    response = client.get(reverse("admin:index"))
    listed = {f"{app['app_label']}.{m['object_name']}" for app in response.context["app_list"] for m in app["models"]}
    assert listed == {model._meta.label for model in REGISTERED}
    assert "Bazar admin" in response.content.decode()


def test_admin_login_refuses_plain_user(client, free_user, password):
    response = client.post(reverse("admin:login"), {"username": free_user.email, "password": password})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("admin:index")).status_code == 302


def test_staff_group_exists_with_its_permissions(db):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=STAFF_GROUP_NAME)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("accounts", "change_user") in codenames
    assert ("accounts", "delete_user") not in codenames
    assert not {("auth", "change_group"), ("auth", "change_permission")} & codenames
    assert {label for label, _ in codenames} == {"accounts", "organizations", "assistants"}


def test_staff_permissions_follow_role_not_membership(db):
    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_set_role

    user = UserFactory(role=Role.USER)
    assert not user.has_perm("accounts.change_user")
    user_set_role(user=user, role=Role.ADMIN)
    user = User.objects.get(pk=user.pk)  # permissions are cached per instance, as per request
    assert user.has_perm("accounts.change_user") and not user.has_perm("accounts.delete_user")
    assert not user.groups.exists()
    user_set_role(user=user, role=Role.USER)
    user = User.objects.get(pk=user.pk)
    assert not user.has_perm("accounts.change_user")
