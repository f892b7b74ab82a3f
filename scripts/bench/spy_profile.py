"""Where a request's CPU goes in the running server: py-spy samples gunicorn's workers while wrk drives one endpoint,
and each sample is put in the region of the request it was taken in (gunicorn, Django, a middleware, DRF,
authentication, the Redis round trip, the serializer, ...). Used by `make bench`; needs ptrace (py-spy attaches to
the workers).

Only samples of a thread holding the GIL count (`py-spy --gil`): the Python work that one core does at a time per
worker. Time spent in system calls that release the GIL (sockets, writes) is not in them, so the shares are of the
Python CPU, which is most of it.
"""

import subprocess
import sys
from collections import Counter
from pathlib import Path

# (a function, as py-spy names it with its file, and its region): a sample belongs to the region of the innermost of
# these functions on its stack, or to gunicorn when none is. Each region leaves out the regions nested in it.
REGIONS = [
    ("WSGIHandler.__call__ (django/core/handlers/wsgi.py", "Django: request object, handler, request signals"),
    # gunicorn closes the response: request_finished (connections back to the pool, caches)
    ("HttpResponseBase.close (django/http/response.py", "Django: closing the response (request_finished)"),
    (
        "request_log_middleware.<locals>.middleware (bazar/logging.py",
        "middleware: request id, body cap, security headers, CORS, CSP, ...",
    ),
    ("_log_request (bazar/logging.py", "middleware: the request's log line (JSON)"),
    ("BaseHandler._get_response (django/core/handlers/base.py", "Django: URL resolution, calling the view"),
    ("APIView.dispatch (rest_framework/views.py", "DRF: request, negotiation, permissions, throttles, response"),
    ("JWTAuthentication.authenticate (accounts/authentication.py", "authentication: the token and the user"),
    ("_read (bazar/caching.py", "Redis: one round trip (the cached user and the rate count, or a throttle's count)"),
    ("Serializer.data (rest_framework/serializers.py", "the serializer"),
    ("APIView.handle_exception (rest_framework/views.py", "DRF: the error answer (a refusal, say)"),
    ("SimpleTemplateResponse.render (django/template/response.py", "rendering the JSON body"),
]
GUNICORN = "gunicorn: reading, parsing and writing HTTP, the worker's threads"
# Without pausing the workers, py-spy sometimes reads a stack while it changes and loses its outer frames: such a
# stack without a region's function cannot be told apart from gunicorn's own work.
TORN = "not attributed: a stack py-spy read only in part"
THREAD_STARTS = ("Thread._bootstrap (", "<module> (")
NEEDLES = [(f";{function}:", region) for function, region in REGIONS]
# The order the report lists them in: from the outside of a request in.
ORDER = [GUNICORN, *(region for _, region in REGIONS), TORN]


def record(pid: int, out: Path, *, seconds: int, rate: int = 100) -> subprocess.Popen:
    """Start py-spy on gunicorn's master and its workers, for `seconds`; the caller drives the load meanwhile."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--subprocesses"]
    # --nonblocking: the workers are never paused (pausing them at each sample took a third of their throughput).
    command += ["--gil", "--nonblocking"]
    command += ["--rate", str(rate), "--duration", str(seconds), "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603


def regions(raw: str) -> tuple[int, dict[str, float]]:
    """(samples, share of the samples per region) from py-spy's raw output: one `frame;frame;... count` per line."""
    counts: Counter = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stack = ";" + stack
        found, deepest = GUNICORN, -1
        for needle, region in NEEDLES:
            at = stack.rfind(needle)
            if at > deepest:
                found, deepest = region, at
        if found == GUNICORN:
            frames = [frame for frame in stack.split(";") if frame and not frame.startswith("process ")]
            if not frames or not frames[0].startswith(THREAD_STARTS):
                found = TORN
        counts[found] += int(count)
    total = sum(counts.values())
    return total, {region: counts[region] / total for region in ORDER if total and counts[region]}
