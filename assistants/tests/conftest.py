import pytest

from accounts.roles import Plan, Role
from accounts.tests.factories import UserFactory
from assistants.tests.chat_server import ChatCompletionsServer
from assistants.tests.factories import AssistantFactory
from organizations.models import OrgRole
from organizations.tests.factories import MembershipFactory, OrganizationFactory

# Every kind of caller the authorization matrix knows.
KINDS = {
    "FREE": {"plan": Plan.FREE},
    "PLUS": {"plan": Plan.PLUS},
    "PREMIUM": {"plan": Plan.PREMIUM},
    "ADMIN": {"role": Role.ADMIN},
    "SUPERADMIN": {"role": Role.SUPERADMIN},
}
STAFF_KINDS = ("ADMIN", "SUPERADMIN")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Each test stores files in its own directory, so checks on stored bytes see only their own.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_user(db):
    def _make(kind: str = "FREE", **fields):
        return UserFactory(**KINDS[kind], **fields)

    return _make


@pytest.fixture
def org(db):
    return OrganizationFactory()


@pytest.fixture
def other_org(db):
    return OrganizationFactory()


@pytest.fixture
def join(db):
    """Make `user` a member of `organization` (MEMBER unless told)."""

    def _join(user, organization, role=OrgRole.MEMBER):
        return MembershipFactory(user=user, organization=organization, role=role)

    return _join


@pytest.fixture
def assistant(db):
    return AssistantFactory()


@pytest.fixture
def chat_server():
    server = ChatCompletionsServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_engine(settings, chat_server):
    """Runs answered by the OpenAI-compatible engine, talking to the local chat-completions server."""
    settings.ASSISTANT_ENGINE = "assistants.engines.openai.OpenAIEngine"
    settings.OPENAI_BASE_URL = chat_server.base_url
    settings.OPENAI_API_KEY = "sk-test-secret-key"
    settings.OPENAI_MODEL = "test-model"
    settings.OPENAI_TIMEOUT = 0.5
    return chat_server
