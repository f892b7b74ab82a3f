"""Fixtures of the organizations tests."""

import pytest

from accounts.roles import Plan
from accounts.tests.factories import UserFactory
from organizations.models import OrgRole
from organizations.tests.factories import MembershipFactory, OrganizationFactory
from organizations.tests.utils import FRONTEND_URL


@pytest.fixture(autouse=True)
def _frontend_url(settings):
    # A distinctive value proves the links are built from the setting.
    settings.FRONTEND_URL = FRONTEND_URL


@pytest.fixture
def owner(db):
    return UserFactory(plan=Plan.PREMIUM)


@pytest.fixture
def organization(owner):
    return OrganizationFactory(created_by=owner)


@pytest.fixture
def org_admin(organization):
    return MembershipFactory(organization=organization, role=OrgRole.ADMIN, user__plan=Plan.PREMIUM).user


@pytest.fixture
def org_member(organization):
    return MembershipFactory(organization=organization, role=OrgRole.MEMBER, user__plan=Plan.PREMIUM).user


@pytest.fixture
def outsider(db):
    """A PREMIUM OWNER of another organization."""
    return OrganizationFactory(created_by=UserFactory(plan=Plan.PREMIUM)).created_by
