"""An OpenAI-compatible chat-completions engine (OpenAI, Azure-style gateways, vLLM, Ollama, LiteLLM, ...).

Standard library only: one POST to `{OPENAI_BASE_URL}/chat/completions`. Every failure becomes an
EngineError with a short, readable message: the API key is never part of it, and neither is a traceback.
"""

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from assistants.engines import ChatMessage, Completion, EngineError, EngineRequest, system_prompt

# Assistant settings passed through to the provider; anything else in Assistant.settings stays local.
PASSTHROUGH_OPTIONS = ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "seed", "stop")
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_ERROR_CHARS = 300
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


class OpenAIEngine:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
    ):
        self.base_url = (base_url or settings.OPENAI_BASE_URL).rstrip("/")
        self.api_key = settings.OPENAI_API_KEY if api_key is None else api_key
        self.default_model = model or settings.OPENAI_MODEL
        self.timeout = float(timeout or settings.OPENAI_TIMEOUT)

    def complete(self, request: EngineRequest) -> Completion:
        url = f"{self.base_url}/chat/completions"
        if urlsplit(url).scheme not in ("http", "https"):
            raise EngineError("The engine URL must start with http:// or https://.")
        payload = {"model": request.model or self.default_model, "messages": self._messages(request)}
        payload.update({key: request.options[key] for key in PASSTHROUGH_OPTIONS if key in request.options})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = json.dumps(payload).encode()
        http_request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked)
        data = self._send(http_request)
        return self._completion(data, payload["model"])

    @staticmethod
    def _messages(request: EngineRequest) -> list[dict]:
        system = system_prompt(request)
        messages = [ChatMessage("system", system)] if system else []
        return [{"role": m.role, "content": m.content} for m in [*messages, *request.messages]]

    def _send(self, http_request: urllib.request.Request) -> dict:
        deadline = time.monotonic() + self.timeout
        try:
            # complete() checked the scheme: only http(s) reaches urlopen.
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:  # noqa: S310
                raw = self._read(response, deadline)
        except urllib.error.HTTPError as exc:
            raise EngineError(self._http_error(exc)) from None
        except TimeoutError:
            raise EngineError(self._timeout_message()) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise EngineError(self._timeout_message()) from None
            raise EngineError(f"The engine could not be reached ({self._clean(str(exc.reason))}).") from None
        except (http.client.HTTPException, OSError):
            raise EngineError("The connection to the engine failed.") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise EngineError("The engine sent a reply that is not JSON.") from None
        if not isinstance(data, dict):
            raise EngineError("The engine sent an unexpected reply.")
        return data

    def _read(self, response, deadline: float) -> bytes:
        """Read the body in chunks: the socket timeout bounds each read, the deadline bounds them all."""
        chunks, size = [], 0
        while chunk := response.read(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise EngineError("The engine's reply is too large.")
            if time.monotonic() > deadline:
                raise TimeoutError
        return b"".join(chunks)

    def _completion(self, data: dict, model: str) -> Completion:
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EngineError("The engine's reply has no message.") from None
        if not isinstance(content, str):
            raise EngineError("The engine's reply has no text.")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Completion(
            content=content,
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            model=str(data.get("model") or model),
        )

    def _http_error(self, exc: urllib.error.HTTPError) -> str:
        detail = ""
        try:
            body = json.loads(exc.read(64 * 1024) or b"null")
        except (ValueError, OSError):
            body = None
        if isinstance(body, dict):
            error = body.get("error", body.get("detail", body.get("message")))
            if isinstance(error, dict):
                error = error.get("message")
            if isinstance(error, str):
                detail = error
        detail = self._clean(detail or exc.reason or "")
        kind = "failed" if exc.code >= 500 else "refused the request"
        return f"The engine {kind} (HTTP {exc.code})" + (f": {detail}" if detail else ".")

    def _timeout_message(self) -> str:
        return f"The engine did not answer within {self.timeout:g} seconds."

    def _clean(self, text: str) -> str:
        """One short line, with the API key removed should the provider echo it."""
        text = str(text)
        if self.api_key:
            text = text.replace(self.api_key, "[redacted]")
        text = _CONTROL_CHARS.sub(" ", text).strip()
        return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _int(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
