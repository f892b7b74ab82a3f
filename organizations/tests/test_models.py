"""Invitation status: the one rule, read per row (`status`) and per query (`with_status`), gives the same answer."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from organizations.models import Invitation, InvitationStatus
from organizations.tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


@time_machine.travel("2030-01-01T12:00:00Z", tick=False)
def test_invitation_with_status_agrees_with_the_status_property():
    now = timezone.now()
    invitations = {
        InvitationStatus.PENDING: InvitationFactory(expires_at=now + timedelta(seconds=1)),
        InvitationStatus.EXPIRED: InvitationFactory(expires_at=now),  # expiring now: already expired
        InvitationStatus.ACCEPTED: InvitationFactory(expires_at=now - timedelta(days=1), accepted_at=now),
        InvitationStatus.REVOKED: InvitationFactory(revoked_at=now),
    }

    for status, invitation in invitations.items():
        assert invitation.status == status
        assert list(Invitation.objects.with_status(status)) == [invitation], status


def test_invitation_pending_is_with_status_pending():
    pending = InvitationFactory()
    InvitationFactory(expires_at=timezone.now() - timedelta(seconds=1))
    InvitationFactory(revoked_at=timezone.now())

    assert list(Invitation.objects.pending()) == [pending]
    assert list(Invitation.objects.filter(pk=pending.pk).pending()) == [pending]


def test_invitation_with_status_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="not an invitation status"):
        Invitation.objects.with_status("lost")
