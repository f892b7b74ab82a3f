"""The users API: self-service `me`, the staff matrix (ADMIN vs SUPERADMIN), filters, search, pagination."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import errors
from accounts.models import User
from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.utils import error_attrs, error_codes, login, mails_to, token_from_mail
from organizations import services as org_services

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:user-list")
ME_URL = reverse("api:user-me")


def detail_url(user) -> str:
    return reverse("api:user-detail", args=[user.pk])


def emails(response) -> list[str]:
    return [row["email"] for row in response.json()["results"]]


# ---------------------------------------------------------------- me


def test_me_returns_own_account(make_client, free_user):
    response = make_client(free_user).get(ME_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(free_user.pk)
    assert {"id", "email", "full_name", "role", "plan", "is_verified", "is_blocked", "created_at"} <= set(body)
    assert "password" not in body
    assert "token_version" not in body


def test_me_requires_authentication(api_client, db):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert error_codes(response) == ["not_authenticated"]


def test_me_patch_changes_full_name(make_client, free_user):
    response = make_client(free_user).patch(ME_URL, {"full_name": "Grace Hopper"})

    assert response.status_code == 200, response.json()
    assert response.json()["full_name"] == "Grace Hopper"
    free_user.refresh_from_db()
    assert free_user.full_name == "Grace Hopper"


@pytest.mark.parametrize(
    "escalation",
    [
        {"role": Role.SUPERADMIN},
        {"plan": Plan.PREMIUM},
        {"is_verified": False},
        {"is_blocked": True, "blocked_reason": "x"},
        {"is_active": False},
        {"is_staff": True, "is_superuser": True},
        {"id": "0190a000-0000-7000-8000-000000000000"},
        {"created_at": "2000-01-01T00:00:00Z"},
    ],
)
def test_me_patch_ignores_privileged_fields(make_client, free_user, escalation):
    before = User.objects.filter(pk=free_user.pk).values().get()

    response = make_client(free_user).patch(ME_URL, {**escalation, "full_name": "Eve"})

    assert response.status_code == 200, response.json()
    after = User.objects.filter(pk=free_user.pk).values().get()
    changed = {key for key in after if after[key] != before[key]}
    assert changed <= {"full_name", "updated_at"}
    assert (after["role"], after["plan"], after["is_verified"], after["is_blocked"]) == ("USER", "FREE", True, False)


def test_me_put_is_not_allowed(make_client, free_user):
    response = make_client(free_user).put(ME_URL, {"full_name": "x"})

    assert response.status_code == 405
    assert error_codes(response) == ["method_not_allowed"]


def test_me_patch_email_requires_verifying_the_new_address(make_client, api_client, free_user):
    response = make_client(free_user).patch(ME_URL, {"email": "New.Address@Example.com"})

    assert response.status_code == 200, response.json()
    assert response.json()["email"] == "new.address@example.com"
    assert response.json()["is_verified"] is False
    [message] = mails_to("new.address@example.com")
    token = token_from_mail(message, "/verify-email")
    assert api_client.post(reverse("api:auth:verify"), {"token": token}).status_code == 200
    free_user.refresh_from_db()
    assert free_user.is_verified


def test_me_patch_email_refuses_address_taken_in_another_case(make_client, free_user):
    UserFactory(email="taken@example.com")

    response = make_client(free_user).patch(ME_URL, {"email": "TAKEN@example.com"})

    assert response.status_code == 400
    assert error_attrs(response) == {"email": errors.EMAIL_TAKEN}
    free_user.refresh_from_db()
    assert free_user.email != "taken@example.com"
    assert mail.outbox == []


def test_me_patch_same_email_in_another_case_changes_nothing(make_client, free_user):
    response = make_client(free_user).patch(ME_URL, {"email": free_user.email.upper()})

    assert response.status_code == 200
    free_user.refresh_from_db()
    assert free_user.is_verified
    assert mail.outbox == []


def test_me_delete_deactivates_account(make_client, free_user):
    response = make_client(free_user).delete(ME_URL)

    assert response.status_code == 204
    free_user.refresh_from_db()
    assert free_user.is_active is False
    assert User.objects.filter(pk=free_user.pk).exists()


# ---------------------------------------------------------------- non-staff


def test_user_list_shows_only_self_to_non_staff(make_client, free_user):
    UserFactory.create_batch(3)

    response = make_client(free_user).get(LIST_URL)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert emails(response) == [free_user.email]


def test_user_detail_of_another_user_is_404_for_non_staff(make_client, free_user):
    other = UserFactory()

    response = make_client(free_user).get(detail_url(other))

    assert response.status_code == 404
    assert error_codes(response) == ["not_found"]


def test_user_detail_of_self_is_visible_to_non_staff(make_client, free_user):
    response = make_client(free_user).get(detail_url(free_user))

    assert response.status_code == 200
    assert response.json()["id"] == str(free_user.pk)


# PREMIUM organization admins manage their organization's users: organizations/tests cover them.
@pytest.mark.parametrize("plan", [Plan.FREE, Plan.PLUS])
@pytest.mark.parametrize(
    ("method", "target", "payload"),
    [
        ("post", None, {"email": "new@example.com"}),
        ("patch", "other", {"plan": Plan.PREMIUM}),
        ("patch", "self", {"plan": Plan.PREMIUM}),
        ("put", "self", {"role": Role.SUPERADMIN}),
        ("delete", "other", None),
        ("delete", "self", None),
    ],
)
def test_user_writes_are_forbidden_to_non_staff(make_client, plan, method, target, payload):
    user = UserFactory(plan=plan)
    other = UserFactory()
    url = {None: LIST_URL, "self": detail_url(user), "other": detail_url(other)}[target]

    response = getattr(make_client(user), method)(url, payload)

    assert response.status_code == 403
    assert response.json()["type"] == "client_error"
    user.refresh_from_db()
    other.refresh_from_db()
    assert (user.plan, user.role, user.is_active, other.is_active) == (plan, Role.USER, True, True)
    assert not User.objects.filter(email="new@example.com").exists()


def test_user_list_requires_authentication(api_client, db):
    assert api_client.get(LIST_URL).status_code == 401


# ---------------------------------------------------------------- staff: listing


def test_user_list_shows_everyone_to_staff(make_client, staff_admin):
    UserFactory.create_batch(3)

    response = make_client(staff_admin).get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"role": "ADMIN"}, {"staff@example.com", "admin2@example.com"}),
        ({"role": "SUPERADMIN"}, {"root@example.com"}),
        ({"plan": "PREMIUM"}, {"premium@example.com"}),
        ({"is_verified": "false"}, {"new@example.com"}),
        ({"is_blocked": "true"}, {"blocked@example.com"}),
        ({"role": "USER", "plan": "FREE", "is_blocked": "false", "is_verified": "true"}, {"free@example.com"}),
        ({"search": "LOVELACE"}, {"premium@example.com"}),
        ({"search": "blocked@"}, {"blocked@example.com"}),
    ],
)
def test_user_list_filters_and_searches(make_client, query, expected):
    staff = UserFactory(email="staff@example.com", role=Role.ADMIN, full_name="Staff")
    UserFactory(email="admin2@example.com", role=Role.ADMIN, full_name="Other Admin")
    UserFactory(email="root@example.com", role=Role.SUPERADMIN, full_name="Root")
    UserFactory(email="premium@example.com", plan=Plan.PREMIUM, full_name="Ada Lovelace")
    UserFactory(email="new@example.com", is_verified=False, verified_at=None, full_name="New")
    UserFactory(email="blocked@example.com", is_blocked=True, full_name="Blocked")
    UserFactory(email="free@example.com", full_name="Free")

    response = make_client(staff).get(LIST_URL, query)

    assert response.status_code == 200
    assert set(emails(response)) == expected


def test_user_list_refuses_unknown_filter_value(make_client, staff_admin):
    response = make_client(staff_admin).get(LIST_URL, {"role": "GOD"})

    assert response.status_code == 400
    assert error_attrs(response) == {"role": "invalid_choice"}


@pytest.mark.parametrize(("ordering", "reverse"), [("email", False), ("-email", True)])
def test_user_list_orders(make_client, ordering, reverse):
    staff = UserFactory(email="m@example.com", role=Role.ADMIN)
    UserFactory(email="a@example.com")
    UserFactory(email="z@example.com")

    response = make_client(staff).get(LIST_URL, {"ordering": ordering})

    assert emails(response) == sorted(["a@example.com", "m@example.com", "z@example.com"], reverse=reverse)


def test_user_list_default_order_is_newest_first(make_client, staff_admin):
    first, second = UserFactory(), UserFactory()

    response = make_client(staff_admin).get(LIST_URL)

    assert emails(response)[:3] == [second.email, first.email, staff_admin.email]


def test_user_list_paginates(make_client, staff_admin):
    UserFactory.create_batch(4)

    page1 = make_client(staff_admin).get(LIST_URL, {"page_size": 2})
    page3 = make_client(staff_admin).get(LIST_URL, {"page_size": 2, "page": 3})

    assert page1.json()["count"] == 5
    assert len(page1.json()["results"]) == 2
    assert "page=2" in page1.json()["next"]
    assert page1.json()["previous"] is None
    assert len(page3.json()["results"]) == 1
    assert page3.json()["next"] is None


def test_user_list_caps_page_size_at_100(make_client, staff_admin):
    UserFactory.create_batch(105)

    response = make_client(staff_admin).get(LIST_URL, {"page_size": 1000})

    assert response.json()["count"] == 106
    assert len(response.json()["results"]) == 100


@pytest.mark.parametrize("page", ["999", "0", "abc", "-1"])
def test_user_list_out_of_range_page_is_404(make_client, staff_admin, page):
    response = make_client(staff_admin).get(LIST_URL, {"page": page})

    assert response.status_code == 404
    assert error_codes(response) == ["not_found"]


@pytest.mark.parametrize("ordering", ["password", "token_version", "nonsense", "-"])
def test_user_list_ignores_unknown_ordering_fields(make_client, staff_admin, ordering):
    response = make_client(staff_admin).get(LIST_URL, {"ordering": ordering})

    assert response.status_code == 200


def test_user_list_query_count_does_not_grow_with_rows(make_client, staff_admin):
    client = make_client(staff_admin)

    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST_URL, {"page_size": 100}).status_code == 200
    UserFactory.create_batch(49)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(LIST_URL, {"page_size": 100})

    assert len(response.json()["results"]) == 50
    assert len(fifty) == len(one)
    assert len(one) <= 4


# ---------------------------------------------------------------- staff: writes


def test_admin_changes_plan(make_client, staff_admin, free_user):
    response = make_client(staff_admin).patch(detail_url(free_user), {"plan": Plan.PREMIUM})

    assert response.status_code == 200, response.json()
    assert response.json()["plan"] == "PREMIUM"
    free_user.refresh_from_db()
    assert free_user.plan == Plan.PREMIUM


def test_admin_blocks_and_unblocks(make_client, staff_admin, free_user):
    victim = make_client(free_user)
    admin = make_client(staff_admin)

    blocked = admin.patch(detail_url(free_user), {"is_blocked": True, "blocked_reason": "spam"})

    assert blocked.status_code == 200, blocked.json()
    assert (blocked.json()["is_blocked"], blocked.json()["blocked_reason"]) == (True, "spam")
    assert victim.get(ME_URL).status_code == 401
    unblocked = admin.patch(detail_url(free_user), {"is_blocked": False})
    assert unblocked.status_code == 200
    assert (unblocked.json()["is_blocked"], unblocked.json()["blocked_reason"]) == (False, "")
    assert victim.get(ME_URL).status_code == 200


def test_admin_cannot_change_roles(make_client, staff_admin, free_user):
    response = make_client(staff_admin).patch(detail_url(free_user), {"role": Role.ADMIN, "full_name": "Changed"})

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_CHANGE_FORBIDDEN]
    free_user.refresh_from_db()
    assert free_user.role == Role.USER
    assert free_user.full_name != "Changed"  # nothing half-written


def test_admin_cannot_promote_self(make_client, staff_admin):
    response = make_client(staff_admin).patch(detail_url(staff_admin), {"role": Role.SUPERADMIN})

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_CHANGE_FORBIDDEN]
    staff_admin.refresh_from_db()
    assert staff_admin.role == Role.ADMIN


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("patch", {"plan": Plan.FREE}),
        ("patch", {"is_blocked": True}),
        ("patch", {"full_name": "Renamed"}),
        ("patch", {"email": "hijack@example.com"}),
        ("delete", None),
    ],
)
def test_admin_cannot_touch_superadmin(make_client, staff_admin, superadmin, method, payload):
    before = User.objects.filter(pk=superadmin.pk).values().get()

    response = getattr(make_client(staff_admin), method)(detail_url(superadmin), payload)

    assert response.status_code == 403
    assert error_codes(response) == [errors.SUPERADMIN_PROTECTED]
    assert User.objects.filter(pk=superadmin.pk).values().get() == before


def test_admin_sees_superadmin(make_client, staff_admin, superadmin):
    assert make_client(staff_admin).get(detail_url(superadmin)).status_code == 200


def test_admin_creates_user(make_client, staff_admin):
    response = make_client(staff_admin).post(
        LIST_URL, {"email": "Hire@Example.com", "full_name": "New Hire", "plan": Plan.PLUS, "password": PASSWORD}
    )

    assert response.status_code == 201, response.json()
    user = User.objects.get(email="hire@example.com")
    assert (user.role, user.plan, user.is_verified) == (Role.USER, Plan.PLUS, False)
    assert user.check_password(PASSWORD)
    assert mails_to("hire@example.com")


def test_admin_creates_user_without_password(make_client, staff_admin):
    response = make_client(staff_admin).post(LIST_URL, {"email": "hire@example.com", "is_verified": True})

    assert response.status_code == 201, response.json()
    user = User.objects.get(email="hire@example.com")
    assert not user.has_usable_password()
    assert user.is_verified
    assert mail.outbox == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERADMIN])
def test_admin_cannot_create_staff(make_client, staff_admin, role):
    response = make_client(staff_admin).post(LIST_URL, {"email": "boss@example.com", "role": role})

    assert response.status_code == 403
    assert error_codes(response) == [errors.ROLE_CHANGE_FORBIDDEN]
    assert not User.objects.filter(email="boss@example.com").exists()


def test_staff_create_refuses_taken_email(make_client, staff_admin, free_user):
    response = make_client(staff_admin).post(LIST_URL, {"email": free_user.email.upper()})

    assert response.status_code == 400
    assert error_attrs(response) == {"email": errors.EMAIL_TAKEN}


def test_staff_create_refuses_weak_password(make_client, staff_admin):
    response = make_client(staff_admin).post(LIST_URL, {"email": "hire@example.com", "password": "123"})

    assert response.status_code == 400
    assert "password" in error_attrs(response)
    assert not User.objects.filter(email="hire@example.com").exists()


@pytest.mark.parametrize("payload", [{"plan": "GOLD"}, {"role": "ROOT"}, {"is_blocked": "maybe"}])
def test_staff_update_refuses_invalid_values(make_client, superadmin, free_user, payload):
    response = make_client(superadmin).patch(detail_url(free_user), payload)

    assert response.status_code == 400
    assert set(error_attrs(response)) == set(payload)


def test_admin_deletes_user(make_client, staff_admin, free_user):
    victim = make_client(free_user)

    response = make_client(staff_admin).delete(detail_url(free_user))

    assert response.status_code == 204
    free_user.refresh_from_db()
    assert free_user.is_active is False
    assert victim.get(ME_URL).status_code == 401


def test_superadmin_changes_roles(make_client, superadmin, free_user, api_client):
    response = make_client(superadmin).patch(detail_url(free_user), {"role": Role.ADMIN})

    assert response.status_code == 200, response.json()
    assert response.json()["role"] == "ADMIN"
    free_user.refresh_from_db()
    assert free_user.role == Role.ADMIN
    assert free_user.is_staff and not free_user.is_superuser
    # Takes effect with the promoted user's existing token.
    assert make_client(free_user).get(LIST_URL).json()["count"] == 2


def test_superadmin_demotes_admin(make_client, superadmin, staff_admin):
    response = make_client(superadmin).patch(detail_url(staff_admin), {"role": Role.USER})

    assert response.status_code == 200
    staff_admin.refresh_from_db()
    assert staff_admin.role == Role.USER
    assert not staff_admin.is_staff


def test_superadmin_manages_other_superadmin(make_client, superadmin):
    other = UserFactory(role=Role.SUPERADMIN)

    response = make_client(superadmin).patch(detail_url(other), {"plan": Plan.PLUS, "is_blocked": True})

    assert response.status_code == 200, response.json()
    other.refresh_from_db()
    assert (other.plan, other.is_blocked) == (Plan.PLUS, True)


def test_superadmin_creates_admin(make_client, superadmin):
    response = make_client(superadmin).post(LIST_URL, {"email": "boss@example.com", "role": Role.ADMIN})

    assert response.status_code == 201
    assert User.objects.get(email="boss@example.com").role == Role.ADMIN


def test_blocked_staff_token_is_refused(make_client, superadmin, staff_admin):
    admin = make_client(staff_admin)
    make_client(superadmin).patch(detail_url(staff_admin), {"is_blocked": True})

    assert admin.get(LIST_URL).status_code == 401


def test_staff_detail_of_unknown_id_is_404(make_client, staff_admin):
    response = make_client(staff_admin).get(reverse("api:user-detail", args=["0190a000-0000-7000-8000-000000000000"]))

    assert response.status_code == 404


def test_login_after_staff_created_account_with_password(make_client, staff_admin, api_client, settings):
    settings.REQUIRE_EMAIL_VERIFICATION = False
    make_client(staff_admin).post(LIST_URL, {"email": "hire@example.com", "password": PASSWORD})

    assert login(api_client, "hire@example.com", PASSWORD)["user"]["email"] == "hire@example.com"


# ---------------------------------------------------------------- the last superadmin
@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER])
def test_last_superadmin_cannot_demote_itself(make_client, superadmin, role):
    response = make_client(superadmin).patch(detail_url(superadmin), {"role": role})

    assert response.status_code == 400
    assert error_codes(response) == [errors.LAST_SUPERADMIN]
    superadmin.refresh_from_db()
    assert superadmin.role == Role.SUPERADMIN


def test_superadmin_demotes_itself_when_another_remains(make_client, superadmin):
    UserFactory(role=Role.SUPERADMIN)

    response = make_client(superadmin).patch(detail_url(superadmin), {"role": Role.ADMIN})

    assert response.status_code == 200, response.json()
    superadmin.refresh_from_db()
    assert superadmin.role == Role.ADMIN


@pytest.mark.parametrize("other", [{"is_blocked": True}, {"is_active": False}], ids=["blocked", "deleted"])
def test_superadmin_that_cannot_log_in_does_not_count_as_another(make_client, superadmin, other):
    UserFactory(role=Role.SUPERADMIN, **other)

    response = make_client(superadmin).patch(detail_url(superadmin), {"role": Role.USER})

    assert error_codes(response) == [errors.LAST_SUPERADMIN]


def test_last_superadmin_rule_holds_for_commands(superadmin):
    with pytest.raises(CommandError, match="last active superadmin"):
        call_command("set_role", superadmin.email, Role.USER)
    superadmin.refresh_from_db()
    assert superadmin.role == Role.SUPERADMIN


# ---------------------------------------------------------------- what colleagues see of each other
PUBLIC_USER_FIELDS = {"id", "email", "full_name", "role", "plan", "is_verified", "is_blocked", "created_at"}
PRIVATE_USER_FIELDS = {"verified_at", "blocked_reason", "is_active", "updated_at"}


@pytest.fixture
def acme_owner(db):
    return UserFactory(plan=Plan.PREMIUM)


@pytest.fixture
def colleague(free_user, acme_owner):
    """A blocked member of an organization `free_user` also belongs to (`acme_owner` owns it)."""
    organization = org_services.organization_create(name="Acme", created_by=acme_owner)
    org_services.membership_add(organization=organization, user=free_user)
    user = UserFactory(is_blocked=True, blocked_reason="chargeback fraud")
    org_services.membership_add(organization=organization, user=user)
    return user


def test_colleague_detail_shows_only_the_public_profile(make_client, free_user, colleague):
    response = make_client(free_user).get(detail_url(colleague))

    assert response.status_code == 200
    assert set(response.json()) == PUBLIC_USER_FIELDS
    assert "chargeback" not in response.content.decode()


def test_user_list_shows_full_fields_for_self_and_public_profile_for_colleagues(make_client, free_user, colleague):
    rows = {row["id"]: row for row in make_client(free_user).get(LIST_URL).json()["results"]}

    assert set(rows[str(free_user.pk)]) == PUBLIC_USER_FIELDS | PRIVATE_USER_FIELDS
    assert set(rows[str(colleague.pk)]) == PUBLIC_USER_FIELDS


def test_staff_see_every_field_of_everyone(make_client, staff_admin, colleague):
    body = make_client(staff_admin).get(detail_url(colleague)).json()

    assert set(body) == PUBLIC_USER_FIELDS | PRIVATE_USER_FIELDS
    assert body["blocked_reason"] == "chargeback fraud"


def test_org_admin_update_answers_the_public_profile(make_client, acme_owner, colleague):
    response = make_client(acme_owner).patch(detail_url(colleague), {"full_name": "Renamed"})

    assert response.status_code == 200, response.json()
    assert set(response.json()) == PUBLIC_USER_FIELDS


# ---------------------------------------------------------------- Idempotency-Key on create
def test_user_create_with_the_same_idempotency_key_creates_one_account(make_client, staff_admin):
    client = make_client(staff_admin)
    payload = {"email": "once@example.com", "full_name": "Once"}

    first = client.post(LIST_URL, payload, HTTP_IDEMPOTENCY_KEY="create-once-1")
    retry = client.post(LIST_URL, payload, HTTP_IDEMPOTENCY_KEY="create-once-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert User.objects.filter(email="once@example.com").count() == 1
    assert len(mails_to("once@example.com")) == 1


def test_user_create_with_a_reused_idempotency_key_and_another_body_is_refused(make_client, staff_admin):
    client = make_client(staff_admin)
    client.post(LIST_URL, {"email": "first@example.com"}, HTTP_IDEMPOTENCY_KEY="create-once-2")

    response = client.post(LIST_URL, {"email": "second@example.com"}, HTTP_IDEMPOTENCY_KEY="create-once-2")

    assert response.status_code == 422
    assert error_codes(response) == ["idempotency_key_reused"]
    assert not User.objects.filter(email="second@example.com").exists()
