"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for the engine tests.

Tests set `behaviour` and read `requests`; nothing in the engine is patched.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    status: int = 200
    body: bytes | None = None  # raw reply; None = a normal completion echoing the last user message
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class ChatCompletionsServer:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[dict] = field(default_factory=list)

    def start(self) -> "ChatCompletionsServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "json": json.loads(body or b"null")}
                )
                behaviour = server.behaviour
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                reply = behaviour.body if behaviour.body is not None else server.completion(server.requests[-1])
                try:
                    self.send_response(behaviour.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout tests)

            def log_message(self, format, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @staticmethod
    def completion(request: dict) -> bytes:
        payload = request["json"]
        last_user = next((m["content"] for m in reversed(payload["messages"]) if m["role"] == "user"), "")
        return json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": payload["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"Echo: {last_user}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
        ).encode()


def error_body(message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": None}}).encode()
