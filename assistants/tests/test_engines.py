import socket

import pytest

from assistants.engines import Attachment, ChatMessage, EngineError, EngineRequest, get_engine
from assistants.engines.local import LocalEngine
from assistants.engines.openai import OpenAIEngine
from assistants.tests.chat_server import Behaviour, error_body

REQUEST = EngineRequest(
    model="",
    instructions="Answer briefly.",
    messages=[
        ChatMessage("user", "What is a bazaar?"),
        ChatMessage("assistant", "A market."),
        ChatMessage("user", "Where?"),
    ],
    attachments=[Attachment(name="notes.txt", content_type="text/plain", text="Istanbul has a Grand Bazaar.")],
    options={"temperature": 0.2, "max_tokens": 50, "internal_flag": True},
)


def test_local_engine_answers_deterministically():
    first = LocalEngine().complete(REQUEST)
    second = LocalEngine().complete(REQUEST)

    assert first == second
    assert first.content.startswith("You said: Where?")
    assert "notes.txt" in first.content
    assert first.prompt_tokens > 0
    assert first.completion_tokens == len(first.content.split())


def test_get_engine_builds_the_configured_class(settings):
    settings.ASSISTANT_ENGINE = "assistants.engines.openai.OpenAIEngine"

    assert isinstance(get_engine(), OpenAIEngine)


def test_openai_engine_sends_a_chat_completions_request(openai_engine):
    completion = OpenAIEngine().complete(REQUEST)

    assert completion.content == "Echo: Where?"
    assert (completion.prompt_tokens, completion.completion_tokens, completion.model) == (11, 7, "test-model")
    [sent] = openai_engine.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test-secret-key"
    body = sent["json"]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 50
    assert "internal_flag" not in body
    system, *rest = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("Answer briefly.")
    assert "Istanbul has a Grand Bazaar." in system["content"]
    assert rest == [{"role": m.role, "content": m.content} for m in REQUEST.messages]


def test_openai_engine_uses_the_assistant_model_when_set(openai_engine):
    OpenAIEngine().complete(EngineRequest(model="gpt-custom", instructions="", messages=[ChatMessage("user", "hi")]))

    body = openai_engine.requests[0]["json"]
    assert body["model"] == "gpt-custom"
    assert body["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            error_body("max_tokens is too large"),
            "The engine refused the request (HTTP 400): max_tokens is too large",
        ),
        (404, error_body("The model `nope` does not exist"), "The engine refused the request (HTTP 404): The model"),
        (429, error_body("Rate limit reached", "rate_limit"), "The engine refused the request (HTTP 429): Rate limit"),
        (500, error_body("The server had an error"), "The engine failed (HTTP 500): The server had an error"),
        (503, b"<html>Service Unavailable</html>", "The engine failed (HTTP 503)"),
        (502, b'{"detail": "upstream down"}', "The engine failed (HTTP 502): upstream down"),
    ],
)
def test_openai_engine_error_replies_become_readable_errors(openai_engine, status, body, expected):
    openai_engine.behaviour = Behaviour(status=status, body=body)

    with pytest.raises(EngineError) as caught:
        OpenAIEngine().complete(REQUEST)

    assert str(caught.value).startswith(expected)
    assert "Traceback" not in str(caught.value)


def test_openai_engine_error_never_echoes_the_api_key(openai_engine):
    openai_engine.behaviour = Behaviour(status=401, body=error_body("Incorrect API key provided: sk-test-secret-key."))

    with pytest.raises(EngineError) as caught:
        OpenAIEngine().complete(REQUEST)

    assert "sk-test-secret-key" not in str(caught.value)
    assert "[redacted]" in str(caught.value)


def test_openai_engine_times_out(openai_engine):
    openai_engine.behaviour = Behaviour(delay=1.5)

    with pytest.raises(EngineError, match=r"did not answer within 0.5 seconds"):
        OpenAIEngine().complete(REQUEST)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json at all", "not JSON"),
        (b'{"choices": []}', "has no message"),
        (b'{"choices": [{"message": {"role": "assistant", "content": null}}]}', "has no text"),
        (b"[1, 2]", "unexpected reply"),
    ],
)
def test_openai_engine_refuses_malformed_replies(openai_engine, body, expected):
    openai_engine.behaviour = Behaviour(body=body)

    with pytest.raises(EngineError, match=expected):
        OpenAIEngine().complete(REQUEST)


def test_openai_engine_reports_an_unreachable_server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused

        with pytest.raises(EngineError, match="could not be reached"):
            OpenAIEngine(base_url=f"http://127.0.0.1:{port}/v1", timeout=1).complete(REQUEST)


def test_openai_engine_refuses_non_http_urls():
    with pytest.raises(EngineError, match="http"):
        OpenAIEngine(base_url="file:///etc").complete(REQUEST)
