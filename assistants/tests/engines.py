"""Engines for tests that need to look inside a run while it executes. They answer like the local engine."""

from typing import ClassVar

from assistants import services
from assistants.engines import Completion, EngineRequest
from assistants.engines.local import LocalEngine
from assistants.models import Run


class ProbeEngine(LocalEngine):
    """Records the status of the newest run when asked, and the request it got; can cancel the run meanwhile."""

    seen_statuses: ClassVar[list[str]] = []
    requests: ClassVar[list[EngineRequest]] = []
    cancel_while_working: ClassVar[bool] = False

    def complete(self, request: EngineRequest) -> Completion:
        run = Run.objects.order_by("-created_at").first()
        ProbeEngine.seen_statuses.append(run.status)
        ProbeEngine.requests.append(request)
        if ProbeEngine.cancel_while_working:
            services.run_cancel(run=run)  # as a user's cancel request would, while the engine works
        return super().complete(request)

    @classmethod
    def reset(cls) -> None:
        cls.seen_statuses, cls.requests, cls.cancel_while_working = [], [], False


class UnstorableReplyEngine(LocalEngine):
    """A faulty engine: its reply has None where the text belongs, so storing the reply fails."""

    def complete(self, request: EngineRequest) -> Completion:
        return Completion(content=None, prompt_tokens=1, completion_tokens=1, model="broken")
