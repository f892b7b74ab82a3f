"""Background work of the assistants app (Django tasks: immediate in dev/tests, django-tasks-db in production)."""

from django.tasks import task


@task
def execute_run(run_id: str) -> None:
    """Answer a queued run; see services.run_execute."""
    from assistants.services import run_execute

    run_execute(run_id=run_id)
