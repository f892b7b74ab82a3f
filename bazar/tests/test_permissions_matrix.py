"""The authorization matrix: every endpoint of the API for every kind of caller, asserting SPEC's permission table.

Allowed → the endpoint's 2xx; refused → 401 (anonymous) or 403; out of the caller's scope → 404 (never 403, so
nothing leaks). A few cells answer 400 on purpose: a rule, not a permission, refuses them (the last OWNER of an
organization cannot leave it or delete its account), or an organization named in the body is out of scope and
reads as nonexistent (like any unknown id).

The callers (ACTORS), each in a fresh World per test:
- anonymous: no token.
- free / plus / premium: verified USERs on that plan, each the OWNER of an organization of its own (their URLs
  address that organization), so these columns show what the plan alone decides.
- org_member / org_admin / org_owner: PREMIUM users holding that role in `world.org`, so these columns show what the
  organization role alone decides.
- staff_admin / superadmin: staff, members of nothing.
- other_org: the PREMIUM OWNER of another organization, addressing `world.org`: everything there is out of scope.

To cover a new endpoint, add a Row: a name, the method, a URL builder and a body builder (both take the world and
the actor's name; add lazy helpers to World when rows need objects), and the expected status per actor, usually from
one of the presets (signed_in, org_scoped, org_admins, org_owners, premium_org_admins) with overrides. Endpoints not
covered yet are listed in NOT_YET_COVERED; test_matrix_covers_every_endpoint keeps that list honest.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.test import APIClient

from accounts.roles import Plan, Role
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import RESET_PASSWORD, VERIFY_EMAIL, make_email_token, token_pair_for
from assistants.models import RunStatus
from assistants.tests.factories import AssistantFactory, MessageFactory, RunFactory, ThreadFactory, make_file
from organizations.models import OrgRole
from organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory

ACTORS = [
    "anonymous",
    "free",
    "plus",
    "premium",
    "org_member",
    "org_admin",
    "org_owner",
    "staff_admin",
    "superadmin",
    "other_org",
]
PLAN_ACTORS = {"free": Plan.FREE, "plus": Plan.PLUS, "premium": Plan.PREMIUM}
ORG_ACTORS = {"org_member": OrgRole.MEMBER, "org_admin": OrgRole.ADMIN, "org_owner": OrgRole.OWNER}
NEW_PASSWORD = "another-horse-battery-staple"
METHODS = ("get", "post", "put", "patch", "delete")  # HEAD and OPTIONS follow GET and the metadata class


# ---------------------------------------------------------------- the world every test starts from


class World:
    """One organization `org` with an OWNER, an ADMIN, a MEMBER and a `target` member (an account the organization
    created); an organization per plan actor and one for other_org, each with its own target; two staff users.
    Everything else is built lazily, on first use."""

    def __init__(self):
        self.users: dict[str, object] = {}
        self.orgs: dict[str, object] = {}
        self.targets: dict[str, object] = {}
        self._invitations: dict[str, object] = {}
        self.org = self._organization("org_owner", Plan.PREMIUM)
        for actor, role in ORG_ACTORS.items():
            if role != OrgRole.OWNER:
                self.users[actor] = MembershipFactory(organization=self.org, role=role, user__plan=Plan.PREMIUM).user
        for actor, plan in PLAN_ACTORS.items():
            self._organization(actor, plan)
        self._organization("other_org", Plan.PREMIUM)
        self.users["staff_admin"] = UserFactory(role=Role.ADMIN)
        self.users["superadmin"] = UserFactory(role=Role.SUPERADMIN)

    def _organization(self, owner_actor: str, plan: str):
        owner = UserFactory(plan=plan)
        organization = OrganizationFactory(created_by=owner, name=f"{owner_actor} organization")
        self.users[owner_actor] = owner
        self.orgs[owner_actor] = organization
        self.targets[owner_actor] = MembershipFactory(organization=organization, provisioned=True).user
        return organization

    def user(self, actor: str):
        return self.users.get(actor)

    def client(self, actor: str) -> APIClient:
        client = APIClient()
        if actor != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(self.users[actor])['access']}")
        return client

    def org_for(self, actor: str):
        """The organization an actor's URLs address: its own for the plan actors, `org` for everyone else."""
        return self.orgs[actor] if actor in PLAN_ACTORS else self.org

    def target_for(self, actor: str):
        """A MEMBER of org_for(actor), created by that organization: the user that user/member rows act on."""
        return self.targets[actor] if actor in PLAN_ACTORS else self.targets["org_owner"]

    def invitation_for(self, actor: str):
        if actor not in self._invitations:
            self._invitations[actor] = InvitationFactory(organization=self.org_for(actor))
        return self._invitations[actor]

    def colleague_for(self, actor: str):
        """An account outside org_for(actor) that the actor already shares another organization with (anyone, for
        callers who share nothing): the one kind of account a member may be added directly."""
        colleague = UserFactory()
        user = self.user(actor)
        if user is not None and not user.is_staff:
            side = OrganizationFactory(created_by=colleague)
            MembershipFactory(organization=side, user=user)
        return colleague

    def invitation_token_for(self, actor: str) -> str:
        """A pending invitation, to a fresh organization, addressed to the actor's own email."""
        user = self.user(actor)
        email = user.email if user is not None else "someone@example.com"
        return InvitationFactory(email=email).token

    # -- assistants: an org assistant and a file per organization, a thread (with a message and a queued run) per
    # actor. Non-staff actors address their own thread; staff and other_org address org_owner's.
    @cached_property
    def platform_assistant(self):
        return AssistantFactory()

    def assistant_for(self, actor: str):
        return self._once(
            ("assistant", self.org_for(actor).pk), lambda: AssistantFactory(organization=self.org_for(actor))
        )

    def thread_for(self, actor: str):
        user = self.user(actor)
        owner = user if user is not None and not user.is_staff and actor != "other_org" else self.users["org_owner"]

        def make():
            thread = ThreadFactory(owner=owner, assistant=self.platform_assistant)
            MessageFactory(thread=thread, content="Hello")
            return thread

        return self._once(("thread", owner.pk), make)

    def run_for(self, actor: str):
        thread = self.thread_for(actor)
        return self._once(("run", thread.pk), lambda: RunFactory(thread=thread, status=RunStatus.QUEUED))

    def file_for(self, actor: str):
        organization = self.org_for(actor)
        return self._once(
            ("file", organization.pk),
            lambda: make_file(organization=organization, uploaded_by=self.users["staff_admin"]),
        )

    def _once(self, key, make):
        cache = self.__dict__.setdefault("_objects", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    @cached_property
    def fresh(self):
        """An account no row is about, for the public auth endpoints."""
        return UserFactory(email="fresh@example.com")


@pytest.fixture
def world(db) -> World:
    return World()


# ---------------------------------------------------------------- expected statuses


def expect(default: int, **overrides: int) -> dict[str, int]:
    """`default` for every actor, 401 for anonymous, then the overrides."""
    assert set(overrides) <= set(ACTORS), set(overrides) - set(ACTORS)
    return {**dict.fromkeys(ACTORS, default), "anonymous": 401, **overrides}


def public(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return expect(status, **overrides)


def org_scoped(status: int, **overrides: int) -> dict[str, int]:
    """Any member of the organization (and staff); other organizations' users do not see it."""
    return expect(status, **{"other_org": 404, **overrides})


def org_admins(status: int, **overrides: int) -> dict[str, int]:
    """The organization's OWNERs and ADMINs (and staff)."""
    return expect(status, **{"org_member": 403, "other_org": 404, **overrides})


def org_owners(status: int, **overrides: int) -> dict[str, int]:
    """The organization's OWNERs (and staff)."""
    return expect(status, **{"org_member": 403, "org_admin": 403, "other_org": 404, **overrides})


def premium_org_admins(status: int, **overrides: int) -> dict[str, int]:
    """SPEC: create/update/delete users of own organizations, as OWNER/ADMIN: PREMIUM only (and staff)."""
    return expect(status, **{"free": 403, "plus": 403, "org_member": 403, "other_org": 404, **overrides})


# The last OWNER of an organization can neither leave it nor delete its account (400 last_owner).
LAST_OWNERS = {"free": 400, "plus": 400, "premium": 400, "org_owner": 400}


# ---------------------------------------------------------------- the rows

Builder = Callable[[World, str], object]


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: Builder
    body: Builder | None
    expected: dict[str, int]
    format: str | None = None  # "multipart" for uploads; JSON otherwise


def url(name: str, **kwargs: Builder) -> Builder:
    """A URL builder: `kwargs` map URL parameters to builders of the object whose pk goes there."""

    def build(w: World, actor: str) -> str:
        return reverse(f"api:{name}", kwargs={key: make(w, actor).pk for key, make in kwargs.items()})

    return build


def org(w: World, actor: str):
    return w.org_for(actor)


def target(w: World, actor: str):
    return w.target_for(actor)


def invitation(w: World, actor: str):
    return w.invitation_for(actor)


def myself(w: World, actor: str):
    return w.user(actor) or w.target_for(actor)


AUTH = [
    Row(
        "register",
        "post",
        url("auth:register"),
        lambda w, a: {"email": f"new-{a}@example.com", "password": PASSWORD, "full_name": "New"},
        public(201),
    ),
    Row("login", "post", url("auth:login"), lambda w, a: {"email": w.fresh.email, "password": PASSWORD}, public(200)),
    Row(
        "refresh",
        "post",
        url("auth:refresh"),
        lambda w, a: {"refresh": token_pair_for(w.fresh)["refresh"]},
        public(200),
    ),
    Row(
        "logout", "post", url("auth:logout"), lambda w, a: {"refresh": token_pair_for(w.fresh)["refresh"]}, public(204)
    ),
    Row(
        "verify email",
        "post",
        url("auth:verify"),
        lambda w, a: {"token": make_email_token(UserFactory(is_verified=False, verified_at=None), VERIFY_EMAIL)},
        public(200),
    ),
    Row("resend verification", "post", url("auth:verify-resend"), lambda w, a: {"email": w.fresh.email}, public(202)),
    Row("forgot password", "post", url("auth:forgot-password"), lambda w, a: {"email": w.fresh.email}, public(202)),
    Row(
        "reset password",
        "post",
        url("auth:reset-password"),
        lambda w, a: {"token": make_email_token(w.fresh, RESET_PASSWORD), "password": NEW_PASSWORD},
        public(200),
    ),
    Row(
        "change password",
        "post",
        url("auth:change-password"),
        lambda w, a: {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        signed_in(200),
    ),
    Row("health", "get", url("health"), None, public(200)),
]

USERS = [
    Row("users list", "get", url("user-list"), None, signed_in(200)),
    Row(
        "users create (into an organization)",
        "post",
        url("user-list"),
        lambda w, a: {"email": f"created-by-{a}@example.com", "organization": str(w.org_for(a).pk)},
        premium_org_admins(201, other_org=400),
    ),
    Row("users read", "get", url("user-detail", pk=target), None, org_scoped(200)),
    Row(
        "users update",
        "patch",
        url("user-detail", pk=target),
        lambda w, a: {"full_name": "Renamed"},
        premium_org_admins(200),
    ),
    Row(
        "users replace",
        "put",
        url("user-detail", pk=target),
        lambda w, a: {"full_name": "Renamed", "email": w.target_for(a).email},
        premium_org_admins(200),
    ),
    Row("users delete", "delete", url("user-detail", pk=target), None, premium_org_admins(204)),
    # SPEC: a user's plan is changed by staff only; its role by SUPERADMIN only, and only a SUPERADMIN touches a
    # SUPERADMIN account; staff ADMINs are refused with 403 (role_change_forbidden, superadmin_protected).
    Row(
        "users change plan",
        "patch",
        url("user-detail", pk=target),
        lambda w, a: {"plan": Plan.PLUS},
        expect(403, staff_admin=200, superadmin=200, other_org=404),
    ),
    Row(
        "users change role",
        "patch",
        url("user-detail", pk=target),
        lambda w, a: {"role": Role.ADMIN},
        expect(403, superadmin=200, other_org=404),
    ),
    Row(
        "users update a superadmin",
        "patch",
        url("user-detail", pk=lambda w, a: w.users["superadmin"]),
        lambda w, a: {"full_name": "Renamed"},
        expect(404, free=403, plus=403, staff_admin=403, superadmin=200),
    ),
    Row("me read", "get", url("user-me"), None, signed_in(200)),
    Row("me update", "patch", url("user-me"), lambda w, a: {"full_name": "Me"}, signed_in(200)),
    Row("me delete", "delete", url("user-me"), None, signed_in(204, other_org=400, **LAST_OWNERS)),
]

ORGANIZATIONS = [
    Row("organizations list", "get", url("organization-list"), None, signed_in(200)),
    Row("organizations create", "post", url("organization-list"), lambda w, a: {"name": "New"}, signed_in(201)),
    Row("organizations read", "get", url("organization-detail", pk=org), None, org_scoped(200)),
    Row(
        "organizations update", "patch", url("organization-detail", pk=org), lambda w, a: {"name": "R"}, org_admins(200)
    ),
    Row(
        "organizations replace", "put", url("organization-detail", pk=org), lambda w, a: {"name": "R"}, org_admins(200)
    ),
    Row("organizations delete", "delete", url("organization-detail", pk=org), None, org_owners(204)),
    Row(
        "ownership transfer",
        "post",
        url("organization-transfer-ownership", pk=org),
        lambda w, a: {"user_id": str(w.target_for(a).pk)},
        org_owners(200),
    ),
]

MEMBERS = [
    Row("members list", "get", url("organization-member-list", organization_pk=org), None, org_scoped(200)),
    Row(
        "members add",
        "post",
        url("organization-member-list", organization_pk=org),
        lambda w, a: {"email": w.colleague_for(a).email, "role": OrgRole.MEMBER},
        org_admins(201),
    ),
    Row(
        "members read",
        "get",
        url("organization-member-detail", organization_pk=org, user_id=target),
        None,
        org_scoped(200),
    ),
    Row(
        "members change role",
        "patch",
        url("organization-member-detail", organization_pk=org, user_id=target),
        lambda w, a: {"role": OrgRole.ADMIN},
        org_admins(200),
    ),
    Row(
        "members remove",
        "delete",
        url("organization-member-detail", organization_pk=org, user_id=target),
        None,
        org_admins(204),
    ),
    Row(
        "members leave (remove oneself)",
        "delete",
        url("organization-member-detail", organization_pk=org, user_id=myself),
        None,
        # Staff are members of nothing: there is no membership of theirs to remove.
        org_scoped(204, staff_admin=404, superadmin=404, **LAST_OWNERS),
    ),
]

INVITATIONS = [
    Row("invitations list", "get", url("organization-invitation-list", organization_pk=org), None, org_admins(200)),
    Row(
        "invitations create",
        "post",
        url("organization-invitation-list", organization_pk=org),
        lambda w, a: {"email": f"invited-by-{a}@example.com", "role": OrgRole.MEMBER},
        org_admins(201),
    ),
    Row(
        "invitations read",
        "get",
        url("organization-invitation-detail", organization_pk=org, pk=invitation),
        None,
        org_admins(200),
    ),
    Row(
        "invitations revoke",
        "delete",
        url("organization-invitation-detail", organization_pk=org, pk=invitation),
        None,
        org_admins(204),
    ),
    Row(
        "invitations resend",
        "post",
        url("organization-invitation-resend", organization_pk=org, pk=invitation),
        None,
        org_admins(202),
    ),
    Row(
        "invitations accept",
        "post",
        url("invitation-accept"),
        lambda w, a: {"token": w.invitation_token_for(a)},
        signed_in(200),
    ),
]


def assistant(w: World, actor: str):
    return w.assistant_for(actor)


def thread(w: World, actor: str):
    return w.thread_for(actor)


def run(w: World, actor: str):
    return w.run_for(actor)


def file(w: World, actor: str):
    return w.file_for(actor)


def staff_only(status: int) -> dict[str, int]:
    """SPEC: platform assistants are written by staff; IsStaff answers before any lookup, so 403 for all others."""
    return expect(403, staff_admin=status, superadmin=status)


def own_thread(status: int, **overrides: int) -> dict[str, int]:
    """A user's own thread (staff: anyone's); other_org addresses org_owner's thread, which it cannot see."""
    return expect(status, **{"other_org": 404, **overrides})


# SPEC: execute (start/cancel runs, attach files to runs) needs PLUS; upload/rename/delete files needs PREMIUM and
# the OWNER or ADMIN role in the file's organization (premium_org_admins).
# The plan is checked before the lookup, so a refused plan is 403 whatever the URL names.
BELOW_PLUS = {"free": 403}

ASSISTANTS = [
    Row("assistants list", "get", url("assistant-list"), None, signed_in(200)),
    Row("assistants create", "post", url("assistant-list"), lambda w, a: {"name": "New"}, staff_only(201)),
    Row("assistants read", "get", url("assistant-detail", pk=assistant), None, org_scoped(200)),
    Row(
        "assistants update", "patch", url("assistant-detail", pk=assistant), lambda w, a: {"name": "R"}, staff_only(200)
    ),
    Row(
        "assistants replace", "put", url("assistant-detail", pk=assistant), lambda w, a: {"name": "R"}, staff_only(200)
    ),
    Row("assistants delete", "delete", url("assistant-detail", pk=assistant), None, staff_only(204)),
]

THREADS = [
    Row("threads list", "get", url("thread-list"), None, signed_in(200)),
    Row(
        "threads create",
        "post",
        url("thread-list"),
        lambda w, a: {"assistant": str(w.platform_assistant.pk), "title": "T"},
        signed_in(201),
    ),
    Row("threads read", "get", url("thread-detail", pk=thread), None, own_thread(200)),
    Row("threads update", "patch", url("thread-detail", pk=thread), lambda w, a: {"title": "R"}, own_thread(200)),
    Row("threads replace", "put", url("thread-detail", pk=thread), lambda w, a: {"title": "R"}, own_thread(200)),
    Row("threads delete", "delete", url("thread-detail", pk=thread), None, own_thread(204)),
    Row("messages list", "get", url("thread-message-list", thread_pk=thread), None, own_thread(200)),
    Row(
        "messages post",
        "post",
        url("thread-message-list", thread_pk=thread),
        lambda w, a: {"content": "Hi"},
        own_thread(201),
    ),
    Row("runs list", "get", url("thread-run-list", thread_pk=thread), None, own_thread(200)),
    Row("runs start", "post", url("thread-run-list", thread_pk=thread), lambda w, a: {}, own_thread(201, **BELOW_PLUS)),
    Row(
        "runs start with a file",
        "post",
        url("thread-run-list", thread_pk=thread),
        lambda w, a: {"file_ids": [str(w.file_for(a).pk)]},
        own_thread(201, **BELOW_PLUS),
    ),
    Row("runs read", "get", url("thread-run-detail", thread_pk=thread, pk=run), None, own_thread(200)),
    Row(
        "runs cancel",
        "post",
        url("thread-run-cancel", thread_pk=thread, pk=run),
        None,
        own_thread(200, **BELOW_PLUS),
    ),
]

FILES = [
    Row("files list", "get", url("file-list"), None, signed_in(200)),
    Row(
        "files upload",
        "post",
        url("file-list"),
        lambda w, a: {
            "file": SimpleUploadedFile("notes.txt", b"hello\n", content_type="text/plain"),
            "organization": str(w.org_for(a).pk),
        },
        # An organization out of scope reads as nonexistent (400 does_not_exist), like any unknown id.
        premium_org_admins(201, other_org=400),
        format="multipart",
    ),
    Row("files read", "get", url("file-detail", pk=file), None, org_scoped(200)),
    Row("files download", "get", url("file-content", pk=file), None, org_scoped(200)),
    Row(
        "files rename",
        "patch",
        url("file-detail", pk=file),
        lambda w, a: {"original_name": "renamed.txt"},
        premium_org_admins(200),
    ),
    Row(
        "files replace (rename)",
        "put",
        url("file-detail", pk=file),
        lambda w, a: {"original_name": "renamed.txt"},
        premium_org_admins(200),
    ),
    Row("files delete", "delete", url("file-detail", pk=file), None, premium_org_admins(204)),
]

ROWS = [*AUTH, *USERS, *ORGANIZATIONS, *MEMBERS, *INVITATIONS, *ASSISTANTS, *THREADS, *FILES]

# Endpoints (route name, method) of the API without rows yet.
NOT_YET_COVERED: set[tuple[str, str]] = set()


# ---------------------------------------------------------------- the tests


def test_every_row_names_every_actor():
    for row in ROWS:
        assert set(row.expected) == set(ACTORS), row.name


@pytest.mark.parametrize(
    ("row", "actor"), [pytest.param(row, actor, id=f"{row.name}-{actor}") for row in ROWS for actor in ACTORS]
)
def test_permission_matrix(world, row, actor):
    path = row.url(world, actor)
    body = row.body(world, actor) if row.body else None

    response = getattr(world.client(actor), row.method)(path, body, format=row.format)

    expected = row.expected[actor]
    assert response.status_code == expected, (row.name, actor, row.method.upper(), path, _content(response))
    if expected in (401, 403, 404):
        assert response.json()["type"] == "client_error"


def _content(response):
    try:
        return response.json()
    except ValueError:
        return response.content[:300]


def _api_endpoints() -> set[tuple[str, str]]:
    """Every (route name, method) the v1 API routes, read from the URL configuration."""
    (api,) = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api"]
    endpoints: set[tuple[str, str]] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
            elif isinstance(pattern, URLPattern) and pattern.name and "format" not in pattern.pattern.regex.groupindex:
                view = pattern.callback
                actions = getattr(view, "actions", None)
                methods = actions or [m for m in METHODS if hasattr(view.cls, m)]
                endpoints.update((f"{prefix}{pattern.name}", m) for m in methods if m in METHODS)

    walk(api.url_patterns, "")
    return endpoints


def _covered(world: World) -> set[tuple[str, str]]:
    covered = set()
    for row in ROWS:
        match = resolve(row.url(world, "org_owner"))
        name = f"{match.namespaces[-1]}:{match.url_name}" if len(match.namespaces) > 1 else match.url_name
        covered.add((name, row.method))
    return covered


def test_matrix_covers_every_endpoint(world):
    endpoints = _api_endpoints()
    covered = _covered(world)

    assert covered <= endpoints, covered - endpoints
    assert endpoints - covered == NOT_YET_COVERED
