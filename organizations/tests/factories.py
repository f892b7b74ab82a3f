import secrets
from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from organizations.models import Invitation, Membership, Organization, OrgRole
from organizations.services import invitation_token_hash


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization; pass `owner=<user>` (or let it make one) to give it its OWNER membership."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if create:
            Membership.objects.create(organization=self, user=extracted or self.created_by, role=OrgRole.OWNER)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = OrgRole.MEMBER
    provisioned = False


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation; its plain token is on `invitation.token` (tests only: production never keeps it)."""

    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = OrgRole.MEMBER
    invited_by = factory.LazyAttribute(lambda o: o.organization.created_by)
    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    token_hash = factory.LazyAttribute(lambda o: invitation_token_hash(o.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        token = kwargs.pop("token", None)
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.token = token
        return invitation
