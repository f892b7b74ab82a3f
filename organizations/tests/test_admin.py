"""The invitation admin filters by the model's one status rule and resends with the staff user as the actor."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from organizations.models import InvitationStatus
from organizations.tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:organizations_invitation_changelist"


@pytest.fixture
def staff_client(client, superadmin):
    client.force_login(superadmin)
    return client


@pytest.fixture
def invitations():
    now = timezone.now()
    return {
        InvitationStatus.PENDING: InvitationFactory(),
        InvitationStatus.EXPIRED: InvitationFactory(expires_at=now - timedelta(seconds=1)),
        InvitationStatus.ACCEPTED: InvitationFactory(accepted_at=now),
        InvitationStatus.REVOKED: InvitationFactory(revoked_at=now),
    }


@pytest.mark.parametrize("status", InvitationStatus.values)
def test_invitation_admin_status_filter_shows_each_status(staff_client, invitations, status):
    response = staff_client.get(reverse(CHANGELIST), {"status": status})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [invitations[status]]


def test_invitation_admin_unknown_status_lists_everything(staff_client, invitations):
    response = staff_client.get(reverse(CHANGELIST), {"status": "lost"})

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(invitations.values())


def test_invitation_admin_resend_action_revives_an_owner_invitation(staff_client):
    invitation = InvitationFactory(role="OWNER", expires_at=timezone.now() - timedelta(days=1))

    response = staff_client.post(
        reverse(CHANGELIST), {"action": "resend_invitations", "index": "0", ACTION_CHECKBOX_NAME: [str(invitation.pk)]}
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert len(mail.outbox) == 1
