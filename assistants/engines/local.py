"""A deterministic engine that works offline: the default, and what the tests and demos run against."""

from assistants.engines import Completion, EngineRequest, system_prompt


def count_tokens(text: str) -> int:
    """A rough, deterministic token count: whitespace-separated words."""
    return len(text.split())


class LocalEngine:
    """Answers from the thread itself: the same request always gets the same reply."""

    def complete(self, request: EngineRequest) -> Completion:
        last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        lines = [f"You said: {last_user.strip()}" if last_user.strip() else "There is no question to answer yet."]
        if request.attachments:
            names = ", ".join(a.name for a in request.attachments)
            chars = sum(len(a.text) for a in request.attachments)
            lines.append(f"I read {len(request.attachments)} attached file(s) ({names}; {chars} characters).")
        lines.append(f"({len(request.messages)} message(s) in this thread so far.)")
        content = "\n".join(lines)
        prompt = "\n".join([system_prompt(request), *(m.content for m in request.messages)])
        return Completion(
            content=content,
            prompt_tokens=count_tokens(prompt),
            completion_tokens=count_tokens(content),
            model=request.model or "local",
        )
