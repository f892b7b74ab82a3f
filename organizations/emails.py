"""Organization emails, sent by background tasks. The task receives only the invitation id and issues the
token itself, so that no token ever sits in the task queue."""

from django.tasks import task

from accounts.emails import frontend_link, send_templated_email


@task
def send_invitation_email(invitation_id: str) -> None:
    from organizations.models import Invitation, InvitationStatus
    from organizations.services import invitation_issue_token

    invitation = Invitation.objects.select_related("organization", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        return
    token = invitation_issue_token(invitation=invitation)
    if token is None:
        return
    send_templated_email(
        to=invitation.email,
        template="organizations/email/invitation",
        context={
            "invitation": invitation,
            "organization": invitation.organization,
            "inviter": invitation.invited_by,
            "link": frontend_link("/accept-invitation", token=token),
        },
    )
