"""Seed the benchmark database and write what the load driver needs (tokens, ids, paths) as JSON.

Run by scripts/bench/run.py with the benchmark's environment (DATABASE_URL pointing at a fresh, migrated database):
    python scripts/bench/seed.py --out /tmp/bazar-bench/seed.json --messages 100000
"""

import argparse
import contextlib
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bazar.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.roles import Plan  # noqa: E402
from accounts.tokens import token_pair_for  # noqa: E402
from assistants.models import Assistant, File, Message, MessageRole, Thread  # noqa: E402
from organizations.models import Membership, Organization, OrgRole  # noqa: E402

PASSWORD = "bench-password-1234"
MAIN_MEMBERS = 200  # the tenant whose lists are measured
BIG_MEMBERS = 2_000  # the same list for a tenant 10x bigger
OTHER_ORGS, OTHER_MEMBERS = 10, 50
PLATFORM_ASSISTANTS, MAIN_ASSISTANTS, OTHER_ASSISTANTS = 30, 20, 100
FILES, FILE_SIZE = 3, 1024 * 1024
REFRESH_TOKENS = 512
FLOOD_EMAILS = 200
SMALL_THREAD_MESSAGES = 10_000


def log(message: str) -> None:
    print(f"seed: {message}", file=sys.stderr, flush=True)


def users_create(prefix: str, count: int, password_hash: str, **fields) -> list[User]:
    users = [
        User(
            email=f"{prefix}{i}@bench.local",
            full_name=f"{prefix.title()} {i}",
            password=password_hash,
            is_verified=True,
            verified_at=timezone.now(),
            **fields,
        )
        for i in range(count)
    ]
    return User.objects.bulk_create(users, batch_size=1000)


def org_create(slug: str, owner: User, members: list[User]) -> Organization:
    org = Organization.objects.create(name=slug.replace("-", " ").title(), slug=slug, created_by=owner)
    rows = [Membership(user=owner, organization=org, role=OrgRole.OWNER)]
    rows += [Membership(user=user, organization=org, role=OrgRole.MEMBER) for user in members]
    Membership.objects.bulk_create(rows, batch_size=1000)
    return org


@contextlib.contextmanager
def explicit_created_at():
    """bulk_create honours our created_at values only while auto_now_add is off: the messages need distinct,
    increasing times so that the cursor pagination walks them like a real thread."""
    field = Message._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def messages_create(thread: Thread, count: int) -> None:
    """`count` messages, one millisecond apart, like a long conversation."""
    start = timezone.now() - timedelta(milliseconds=count + 60_000)
    roles = [MessageRole.USER, MessageRole.ASSISTANT]
    text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "
    batch = []
    with explicit_created_at():
        for i in range(count):
            batch.append(
                Message(
                    thread=thread,
                    role=roles[i % 2],
                    content=f"#{i} {text}",
                    created_at=start + timedelta(milliseconds=i),
                )
            )
            if len(batch) == 5_000:
                Message.objects.bulk_create(batch)
                batch = []
        if batch:
            Message.objects.bulk_create(batch)


def file_create(organization: Organization, user: User, index: int) -> File:
    content = b"%PDF-1.4\n" + os.urandom(FILE_SIZE - 9)
    upload = SimpleUploadedFile(f"bench-{index}.pdf", content, content_type="application/pdf")
    try:
        from assistants.services import file_create as service
    except ImportError:  # before the files API landed: store the bytes the way the service does
        from django.core.files.storage import default_storage

        path = default_storage.save(f"files/{organization.pk}/bench-{index}", upload)
        import hashlib

        return File.objects.create(
            organization=organization,
            uploaded_by=user,
            original_name=upload.name,
            content_type="application/pdf",
            size=FILE_SIZE,
            sha256=hashlib.sha256(content).hexdigest(),
            storage_path=path,
        )
    return service(organization=organization, uploaded_by=user, upload=upload)


def routed(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    # One real hash (the configured Argon2 parameters), shared by every seeded account: a login costs what it
    # costs in production, and seeding stays fast.
    password_hash = make_password(PASSWORD)
    with transaction.atomic():
        me, login_user, refresh_user, big_owner = users_create(
            "bench-", 4, password_hash, plan=Plan.PREMIUM
        )  # bench-0 is "me", bench-1 logs in, bench-2 refreshes, bench-3 owns the big organization
        main_members = users_create("main-", MAIN_MEMBERS - 1, password_hash)
        big_members = users_create("big-", BIG_MEMBERS - 1, password_hash)
        main_org = org_create("bench-main", me, main_members)
        org_create("bench-big", big_owner, big_members)
        other_orgs = []
        for n in range(OTHER_ORGS):
            owners = users_create(f"other{n}-", OTHER_MEMBERS, password_hash)
            other_orgs.append(org_create(f"bench-other-{n}", owners[0], owners[1:]))
        Membership.objects.create(user=login_user, organization=main_org, role=OrgRole.MEMBER)
        Membership.objects.create(user=refresh_user, organization=main_org, role=OrgRole.MEMBER)
        log(f"{User.objects.count()} users, {Organization.objects.count()} organizations")

        assistants = [Assistant(name=f"Platform assistant {i}", model="local") for i in range(PLATFORM_ASSISTANTS)]
        assistants += [
            Assistant(name=f"Main assistant {i}", model="local", organization=main_org, created_by=me)
            for i in range(MAIN_ASSISTANTS)
        ]
        assistants += [
            Assistant(name=f"Other assistant {i}", model="local", organization=other_orgs[i % OTHER_ORGS])
            for i in range(OTHER_ASSISTANTS)
        ]
        Assistant.objects.bulk_create(assistants)
        assistant = Assistant.objects.filter(organization=main_org).first()
        thread = Thread.objects.create(owner=me, assistant=assistant, organization=main_org, title="big thread")
        small_thread = Thread.objects.create(owner=me, assistant=assistant, organization=main_org, title="small")

    t0 = time.perf_counter()
    messages_create(thread, args.messages)
    messages_create(small_thread, min(SMALL_THREAD_MESSAGES, args.messages))
    log(f"{Message.objects.count()} messages in {time.perf_counter() - t0:.1f}s")

    # Positions for deep cursors: the created_at of the message 90% of the way into the thread, from each end.
    ordered = Message.objects.filter(thread=thread).order_by("created_at", "id").values_list("created_at", flat=True)
    depth = int(args.messages * 0.9)
    deep_positions = {"asc": str(ordered[depth]), "desc": str(ordered[args.messages - 1 - depth])}

    files = [file_create(main_org, me, i) for i in range(FILES)]
    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum keeps them in production: the planner must see the real row counts.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            # The seed's pages go to disk now, not in a checkpoint spread over the minutes the rows are measured in.
            cursor.execute("CHECKPOINT")

    refresh_tokens = [token_pair_for(refresh_user)["refresh"] for _ in range(REFRESH_TOKENS)]
    refresh_path = args.out.parent / "refresh-tokens.txt"
    refresh_path.write_text("\n".join(refresh_tokens) + "\n")
    flood_path = args.out.parent / "flood-emails.txt"
    flood_path.write_text("".join(f"main-{i}@bench.local\n" for i in range(FLOOD_EMAILS)))

    api = "/api/v1"
    paths = {
        "health": f"{api}/health/",
        "login": f"{api}/auth/login/",
        "refresh": f"{api}/auth/refresh/",
        "me": f"{api}/users/me/",
        "users": f"{api}/users/?page_size=50",
        "assistants": f"{api}/assistants/?page_size=50",
        "messages": f"{api}/threads/{thread.pk}/messages/?page_size=50",
        "messages_small": f"{api}/threads/{small_thread.pk}/messages/?page_size=50",
        "file": f"{api}/files/{files[0].pk}/content/",
    }
    seed = {
        "password": PASSWORD,
        "login_email": login_user.email,
        "me_access": token_pair_for(me)["access"],
        "big_access": token_pair_for(big_owner)["access"],
        "refresh_tokens": str(refresh_path),
        "flood_emails": str(flood_path),
        "deep_positions": deep_positions,
        "paths": paths,
        "routed": {name: routed(path.split("?")[0]) for name, path in paths.items()},
        "counts": {
            "users": User.objects.count(),
            "organizations": Organization.objects.count(),
            "assistants_visible": PLATFORM_ASSISTANTS + MAIN_ASSISTANTS,
            "messages_big": args.messages,
            "messages_small": min(SMALL_THREAD_MESSAGES, args.messages),
            "file_bytes": FILE_SIZE,
            "main_members": MAIN_MEMBERS,
            "big_members": BIG_MEMBERS,
        },
    }
    args.out.write_text(json.dumps(seed, indent=2))
    log(f"done in {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
