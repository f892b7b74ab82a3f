"""gunicorn for Bazar's web tier: `gunicorn --config gunicorn.conf.py bazar.wsgi:application`.

Everything comes from the environment, like Django's settings, so the same file serves the container and a
plain virtualenv. Logs go to stdout in the format Django uses (LOG_FORMAT: json when DEBUG is off).
"""

import gc
import os
from pathlib import Path

import environ
from gunicorn import glogging

# Outside a container the settings come from .env like Django's do; the real environment wins.
if (Path(__file__).resolve().parent / ".env").is_file():
    environ.Env.read_env(Path(__file__).resolve().parent / ".env")


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    # The spellings django-environ reads as true.
    return value.strip().lower() in {"true", "on", "ok", "y", "yes", "1"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cpu_count() -> int:
    # The CPUs this process may run on (cpuset-aware), not every CPU of the host.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# ---------------------------------------------------------------- server
bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or '8000'}"]
# One process per CPU, each with a few threads: requests mostly wait on PostgreSQL, Redis or the assistant
# engine, and threads share one psycopg pool per process. WEB_CONCURRENCY overrides (the Heroku convention).
workers = _env_int("WEB_CONCURRENCY", _cpu_count())
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
# A worker silent for this long is killed and replaced; a request may not run longer.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (a deploy, `docker compose stop`) running requests get this long to finish.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Workers are not recycled by default: with a socket per worker (reuse_port) a recycled worker drops the
# connections waiting in its accept queue (make bench, recycling every 2 000 requests: read errors, users/me at 32
# connections 1090 -> 463 req/s and p99 73 -> 290 ms), and a worker's memory stays flat once warm (make bench).
# Setting a count (if a leak ever shows) turns the per-worker sockets off; the jitter staggers the restarts.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections evenly. On one shared
# socket whichever worker woke first took them: make bench saw 32 connections split so unevenly that one process
# served most of them on one core (users/me ~370 req/s instead of ~750, in about half the runs). TCP binds only:
# a Unix socket path cannot be bound once per worker. Off by default when workers are recycled (see above).
reuse_port = _env_bool("GUNICORN_REUSE_PORT", default=max_requests == 0) and not any(
    b.startswith("unix:") for b in bind
)
# Import the application once, in the master, before forking: a recycled worker starts in milliseconds instead of
# importing Django again (~1.25 s of CPU, during which its queued requests wait), and workers share that memory.
# Nothing connects to PostgreSQL or Redis at import (bazar/tests/test_deploy.py), so no connection crosses the fork.
preload_app = _env_bool("GUNICORN_PRELOAD", default=True)


def pre_fork(server, worker):
    """Before each fork, everything the master holds (Django, the app, every imported module) goes into the garbage
    collector's permanent generation (gc.freeze), so a worker's full collections walk only objects it made itself.
    Without it, each worker paused ~75 ms in every full collection, each request of that worker waiting (make bench:
    users/me p99 at 200 req/s 40 ms instead of 6 in a fresh server's first seconds); with it, 5 ms. The frozen pages
    also stay shared with the master instead of being copied (Python's gc.freeze documentation)."""
    gc.freeze()


# Heartbeat files on tmpfs: a container's overlay filesystem can stall them into false worker timeouts.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (tmpfs, not a temp file)
# Proxies whose X-Forwarded-* headers gunicorn believes (comma-separated addresses, or * inside a private
# network where only the proxy can reach the app). Django trusts them separately (SECURE_PROXY_SSL).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The runtime control socket would live in $HOME, which the container user does not need to write.
control_socket_disable = True

# ---------------------------------------------------------------- logging
DEBUG = _env_bool("DEBUG", default=False)
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("text" if DEBUG else "json")
loglevel = (os.environ.get("LOG_LEVEL") or "INFO").lower()
errorlog = "-"
# Django writes one line per request (bazar.request: method, path, status, duration, user id, request id), so
# gunicorn's own access line is off by default: `make bench` measured it at ~3 ms of CPU per request (users/me
# 7.5 -> 4.1 ms). GUNICORN_ACCESS_LOG=true adds it back (it also covers requests that never reached Django):
# the id Django echoed in X-Request-ID, never the query string nor any request header, so no token reaches it.
accesslog = "-" if _env_bool("GUNICORN_ACCESS_LOG", default=False) else None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'


class Logger(glogging.Logger):
    """gunicorn's logger, minus the work of an access line nobody writes: with logconfig_dict set, gunicorn
    builds every request's access-log fields even when the access log is off (~5% of a users/me request's CPU)."""

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


logger_class = Logger
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "access_fields": {"()": "bazar.logging.GunicornAccessFilter"},
        "request_context": {"()": "bazar.logging.RequestContextFilter"},
    },
    "formatters": {
        "json": {"()": "bazar.logging.JsonFormatter"},
        "text": {"()": "bazar.logging.TextFormatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["access_fields", "request_context"],
        },
    },
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"] if accesslog else [], "level": "INFO", "propagate": False},
    },
}
