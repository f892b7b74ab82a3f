"""The admin in a real browser: Debian's headless Chromium, driven by Playwright, against the live test server.

Run with `pytest -m browser` (or `bash .ci/browser.sh`, which installs Chromium first). Without /usr/bin/chromium
these tests skip, except in CI (CI=true), where they fail: CI must never pass without having run them.
Screenshots land in artifacts/screenshots/.
"""

import os
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.db import connection

from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import PASSWORD, UserFactory
from bazar.tests.admin_data import DB_TASKS, admin_data

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
BLOCK_REASON = "Spam sent from the browser test"

# The live server answers from another thread, so the data must be committed: transactional tests.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _staff_group(transactional_db):
    """Each transactional test ends with a flush of every table: put back what the data migration creates."""
    migration = import_module("accounts.migrations.0002_bazar_staff_group")
    migration.create_staff_group(django_apps, SimpleNamespace(connection=connection))


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture
def page(live_server, monkeypatch):
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or run .ci/browser.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -r requirements/dev.txt)")
    # Playwright's sync API keeps an event loop running in this thread. Django refuses ORM calls while a loop
    # runs, to protect coroutines sharing a connection; none do here (the loop only talks to the browser).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        yield page
        context.close()
        browser.close()


@pytest.fixture
def browser_settings(settings, tmp_path):
    # Plain http on the live server: cookies that demand https would never come back.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.TASKS = DB_TASKS
    settings.MEDIA_ROOT = tmp_path


def shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def assert_styled(page) -> None:
    """The admin's CSS loaded: the header has the admin's colored background, not the browser default."""
    background = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)"), background


def test_superadmin_searches_blocks_a_user_and_opens_an_organization(page, browser_settings, superadmin):
    data = admin_data(staff=superadmin)

    log_in(page, superadmin.email)
    assert page.inner_text("#site-name").strip() == "Bazar admin"
    assert_styled(page)
    shot(page, "01-superadmin-index")

    page.goto("/admin/accounts/user/")
    page.fill("#searchbar", "member@acme")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert data.member.email in rows.first.inner_text()
    shot(page, "02-user-search")

    rows.first.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "block_users")
    page.click("button[name=index]")
    page.wait_for_selector("#id_reason")
    assert data.member.email in page.inner_text("#content")
    page.fill("#id_reason", BLOCK_REASON)
    shot(page, "03-block-reason")
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")
    assert "Blocked: 1." in page.inner_text("ul.messagelist")
    shot(page, "04-user-blocked")

    page.goto("/admin/organizations/organization/")
    page.click(f"#result_list a:text('{data.organization.name}')")
    page.wait_for_selector("#memberships-group")
    memberships = page.inner_text("#memberships-group")
    assert data.owner.email in memberships and data.member.email in memberships
    assert data.invitation.email in page.inner_text("#invitations-group")
    shot(page, "05-organization-inlines")

    blocked = User.objects.get(pk=data.member.pk)
    assert blocked.is_blocked and blocked.blocked_reason == BLOCK_REASON


def test_staff_admin_sees_only_permitted_models(page, browser_settings, superadmin):
    admin_data(staff=superadmin)
    staff = UserFactory(role=Role.ADMIN, email="staff@bazar.test")

    log_in(page, staff.email)
    assert_styled(page)
    models = set(page.locator("#content-main th[scope=row] a").all_inner_texts())
    assert models == {
        "Users",
        "Organizations",
        "Memberships",
        "Invitations",
        "Assistants",
        "Threads",
        "Messages",
        "Runs",
        "Files",
    }
    shot(page, "06-staff-index")

    # A superadmin's account is read-only for ADMIN staff: no save button, no role field.
    page.goto(f"/admin/accounts/user/{superadmin.pk}/change/")
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("select[name=role]").count() == 0
    shot(page, "07-staff-views-superadmin")

    assert page.goto("/admin/auth/group/").status == 403


def test_plain_user_cannot_log_in(page, browser_settings):
    user = UserFactory(role=Role.USER, email="plain@bazar.test")

    log_in(page, user.email)
    assert "/admin/login/" in page.url
    assert "staff account" in page.inner_text(".errornote")
    assert_styled(page)
    shot(page, "08-plain-user-refused")
    page.goto("/admin/")
    assert "/admin/login/" in page.url
