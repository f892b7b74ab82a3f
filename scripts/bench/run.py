"""`make bench`: serve Bazar the way production does and measure it against a bare-WSGI ceiling.

Steps: PostgreSQL and Redis on 127.0.0.1 (.ci/services.sh), a fresh database, migrate, seed (scripts/bench/seed.py),
Argon2 cost (scripts/bench/hash_cost.py), then gunicorn (`gunicorn -c gunicorn.conf.py`, WEB_CONCURRENCY=2,
DEBUG off) driven by wrk (scripts/bench/bench.lua). Prints the tables and writes docs/benchmarks.md.

Environment (all optional):
  BENCH_DURATION=10s        each measured row (quick look: BENCH_DURATION=5s)
  BENCH_SOAK_DURATION=30s   users/me at 32 connections
  BENCH_CONNECTIONS=8       wrk connections for the per-endpoint rows
  BENCH_MESSAGES=100000     messages in the big thread
  BENCH_FLOOD_RATE=200      wrong-password logins per second during the login flood
  BENCH_FLOOD_PROBE_RATE=200  users/me requests per second measured beside the flood (a light, paced load)
  BENCH_COMPARE_WORKERS=1   also compare gunicorn worker types/counts (0 to skip)
  BENCH_PROFILE_REQUESTS=100  requests per endpoint for the in-process CPU profile
  BENCH_SPY_SECONDS=12      users/me, refused logins and the hello app, each sampled by py-spy under load (0 to
                            skip; py-spy needs ptrace)
  BENCH_SCALING_ROUNDS=3    alternating rounds for each latency comparison (deep page, 10x thread, 10x tenant),
                            for each share of the ceiling (the endpoint, then the hello app on BENCH_PORT + 1)
                            and for the login flood (users/me without, then with the flood)
  BENCH_OUTPUT=docs/benchmarks.md
  BENCH_DB=bazar_bench  BENCH_ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
  BENCH_REDIS_URL=redis://127.0.0.1:6379/14  BENCH_PORT=18080  BENCH_WORKDIR=/tmp/bazar-bench
"""

import base64
import contextlib
import datetime as dt
import json
import os
import platform
import runpy
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import spy_profile

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "scripts" / "bench"
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"

DURATION = os.environ.get("BENCH_DURATION", "10s")
SOAK_DURATION = os.environ.get("BENCH_SOAK_DURATION", "30s")
WARMUP = os.environ.get("BENCH_WARMUP", "1s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WRK_THREADS = int(os.environ.get("BENCH_THREADS", "1"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
FLOOD_RATE = int(os.environ.get("BENCH_FLOOD_RATE", "200"))
FLOOD_CONNECTIONS = int(os.environ.get("BENCH_FLOOD_CONNECTIONS", "16"))
FLOOD_PROBE_CONNECTIONS = 4
# Paced, not as fast as the connections go: four connections in a closed loop keep both cores of a 2-core machine
# busy on their own, and a p99 measured at saturation is the queue's length, which any extra work lengthens.
FLOOD_PROBE_RATE = int(os.environ.get("BENCH_FLOOD_PROBE_RATE", "200"))
SOAK_CONNECTIONS = 32
SCALING_ROUNDS = int(os.environ.get("BENCH_SCALING_ROUNDS", "3"))
HASH_ROUNDS = int(os.environ.get("BENCH_HASH_ROUNDS", "7"))
PROFILE_REQUESTS = int(os.environ.get("BENCH_PROFILE_REQUESTS", "100"))
SPY_SECONDS = int(os.environ.get("BENCH_SPY_SECONDS", "12"))
COMPARE_WORKERS = os.environ.get("BENCH_COMPARE_WORKERS", "1") not in ("0", "false", "no", "")
OUTPUT = ROOT / os.environ.get("BENCH_OUTPUT", "docs/benchmarks.md")
DB_NAME = os.environ.get("BENCH_DB", "bazar_bench")
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_PORT", "18080"))
WORK = Path(os.environ.get("BENCH_WORKDIR", "/tmp/bazar-bench"))  # noqa: S108 - scratch files of one run
WORKERS = "2"
HIGH_RATE = "1000000/s"
NO_LIMIT = str(10**9)
NA = "-"  # an empty cell

# The production environment, with the limits raised so that the load generator is not throttled.
APP_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME,
    "REDIS_URL": REDIS_URL,
    "WEB_CONCURRENCY": WORKERS,
    "MEDIA_ROOT": str(WORK / "media"),
    "JWT_ACCESS_LIFETIME": "7200",  # the seeded tokens must outlive the run
    "TASKS_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
    "EMAIL_URL": "consolemail://",
}
UNTHROTTLED = {
    **{
        name: HIGH_RATE
        for name in (
            "THROTTLE_ANON",
            "THROTTLE_PLAN_FREE",
            "THROTTLE_PLAN_PLUS",
            "THROTTLE_PLAN_PREMIUM",
            "THROTTLE_STAFF",
            "THROTTLE_LOGIN",
            "THROTTLE_REGISTER",
            "THROTTLE_AUTH_EMAIL",
            "THROTTLE_AUTH_TOKEN",
        )
    },
    "LOGIN_FAILURE_LIMIT": NO_LIMIT,
    "LOGIN_FAILURE_LIMIT_PER_ADDRESS": NO_LIMIT,
}
# The login flood runs against the production login protections (rate limit and lockout); only the API rates of
# the endpoint measured alongside stay raised.
LOGIN_PROTECTED = {k: v for k, v in UNTHROTTLED.items() if k.startswith("THROTTLE_PLAN") or k == "THROTTLE_STAFF"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]] if duration[-1] in units else float(duration)


def run(cmd: list[str], *, env: dict | None = None, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603 - our own commands
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


# ---------------------------------------------------------------- setup


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("wrk is missing: install it (Debian: apt-get install -y wrk)")
        log("installing wrk (Debian package)")
        run(["apt-get", "install", "-y", "-qq", "wrk"], env={"DEBIAN_FRONTEND": "noninteractive"})


def database_create() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def redis_flush() -> None:
    parsed = urllib.parse.urlparse(REDIS_URL)
    db = (parsed.path or "/0").lstrip("/") or "0"
    run(
        ["redis-cli", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 6379), "-n", db, "FLUSHDB"],
        capture=True,
    )


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    versions = run(
        [
            str(VENV_BIN / "python"),
            "-c",
            "import sys, django, rest_framework, gunicorn; print(sys.version.split()[0], django.get_version(),"
            " rest_framework.__version__, gunicorn.__version__)",
        ],
        capture=True,
    ).split()
    import psycopg

    with psycopg.connect(ADMIN_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    redis = next(
        (
            line.split(":", 1)[1]
            for line in run(["redis-cli", "INFO", "server"], capture=True).splitlines()
            if line.startswith("redis_version")
        ),
        "?",
    ).strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()  # noqa: S607
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": versions[0],
        "django": versions[1],
        "drf": versions[2],
        "gunicorn": versions[3],
        "postgresql": pg,
        "redis": redis,
        "wrk": wrk,
        "load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def production_gunicorn() -> dict:
    """What gunicorn.conf.py asks for with WEB_CONCURRENCY=2 (worker class, workers, threads)."""
    if not GUNICORN_CONF.exists():
        return {"config": "missing (gunicorn defaults, -w 2)", "worker_class": "sync", "workers": 2, "threads": 1}
    saved = os.environ.get("WEB_CONCURRENCY")
    os.environ["WEB_CONCURRENCY"] = WORKERS
    try:
        conf = runpy.run_path(str(GUNICORN_CONF))
    except Exception as exc:  # a config that cannot be read outside gunicorn still runs under it
        return {"config": f"gunicorn.conf.py (unreadable: {exc})", "worker_class": "?", "workers": "?", "threads": "?"}
    finally:
        if saved is None:
            os.environ.pop("WEB_CONCURRENCY")
        else:
            os.environ["WEB_CONCURRENCY"] = saved
    return {
        "config": "gunicorn.conf.py",
        "worker_class": str(conf.get("worker_class", "sync")),
        "workers": conf.get("workers", 1),
        "threads": conf.get("threads", 1),
    }


# ---------------------------------------------------------------- servers and load


TICKS = os.sysconf("SC_CLK_TCK")
_running: list["Server"] = []  # the server wrk is pointed at, for its CPU accounting


class Server:
    """gunicorn as production starts it (`gunicorn -c gunicorn.conf.py <app>`), bound to a local port."""

    def __init__(
        self, name: str, app: str, *, env: dict, extra: tuple[str, ...] = (), ready_path: str = "/", port: int = PORT
    ):
        self.name, self.app, self.env, self.extra, self.ready_path, self.port = name, app, env, extra, ready_path, port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [str(VENV_BIN / "gunicorn")]
        if GUNICORN_CONF.exists():
            cmd += ["-c", str(GUNICORN_CONF)]
        else:
            cmd += ["-w", WORKERS]
        return [*cmd, "-b", f"127.0.0.1:{self.port}", *self.extra, self.app]

    def __enter__(self) -> "Server":
        redis_flush()
        logfile = (WORK / f"gunicorn-{self.name}.log").open("w")
        log(f"server {self.name}: {' '.join(self.command()[1:])}")
        self.process = subprocess.Popen(  # noqa: S603
            self.command(),
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited; see {logfile.name}")
            with contextlib.suppress(OSError):
                if http(self.base + self.ready_path)[0] == 200:
                    _running.append(self)
                    return self
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"gunicorn {self.name} did not answer in 60 s; see {logfile.name}")

    def cpu_seconds(self) -> float:
        """CPU used so far by gunicorn: the master (with its reaped workers) and the live workers. Unlike req/s,
        CPU per request hardly moves when other programs compete for the cores."""
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # a process that just ended
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.process.pid:
                total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            elif ppid == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / TICKS

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each live worker, in MB."""
        sizes = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if int(fields.get("PPid", "0").strip()) == self.process.pid and "VmRSS" in fields:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sorted(sizes)

    def __exit__(self, *exc) -> None:
        if self in _running:
            _running.remove(self)
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session: the master and its workers
                self.process.wait()


def http(url: str, *, method: str = "GET", body: dict | None = None, token: str = "") -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - local server
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wrk(
    url: str,
    *,
    name: str,
    duration: str = DURATION,
    connections: int = CONNECTIONS,
    lua_env: dict | None = None,
    warmup: bool = True,
    server: "Server | None" = None,
) -> dict:
    """One wrk run; returns req/s, p50/p99 in ms, errors (socket errors + non-2xx/3xx answers) and raw numbers.
    The CPU per request is `server`'s, by default the server started last."""
    env = {"BENCH_THREADS": str(WRK_THREADS), "BENCH_CONNECTIONS": str(connections), **(lua_env or {})}
    threads = min(WRK_THREADS, connections)
    if warmup and seconds(WARMUP) > 0:
        out = WORK / f"wrk-{name}-warmup.json"
        tokens = env.get("BENCH_TOKENS_WARMUP", env.get("BENCH_TOKENS", ""))
        _wrk(url, threads, connections, WARMUP, {**env, "BENCH_TOKENS": tokens, "BENCH_OUT": str(out)})
        # Let the warm-up's last requests finish: a login still hashing would take a slot from the measured run.
        time.sleep(0.5)
    out = WORK / f"wrk-{name}.json"
    server = server or (_running[-1] if _running else None)
    cpu_before = server.cpu_seconds() if server else 0.0
    _wrk(url, threads, connections, duration, {**env, "BENCH_OUT": str(out)})
    cpu = server.cpu_seconds() - cpu_before if server else 0.0
    raw = json.loads(out.read_text())
    errors = sum(raw["errors"].values())
    seconds_run = raw["duration_us"] / 1e6
    return {
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "p50": raw["latency_us"]["p50"] / 1000,
        "p99": raw["latency_us"]["p99"] / 1000,
        "errors": errors,
        "requests": raw["requests"],
        # gunicorn's CPU per answered request (meaningless while another load runs against the same server)
        "cpu_ms": 1000 * cpu / raw["requests"] if raw["requests"] else 0.0,
        "statuses": raw.get("statuses", {}),
        "raw": raw,
        "connections": connections,
        "duration": duration,
    }


def _wrk(url: str, threads: int, connections: int, duration: str, env: dict) -> None:
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        duration,
        "--timeout",
        "10s",
        "-s",
        str(HERE / "bench.lua"),
        url,
    ]
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)  # noqa: S603


# ---------------------------------------------------------------- scenarios


class Endpoints:
    """The measured requests, built from the seed; an endpoint that is not routed yet is reported, not run."""

    def __init__(self, seed: dict, base: str):
        self.seed, self.base = seed, base
        self.notes: dict[str, str] = {}
        self.specs: dict[str, dict] = {}
        paths, token = seed["paths"], seed["me_access"]
        login_body = json.dumps({"email": seed["login_email"], "password": seed["password"]})
        self.specs = {
            "health": {"label": "health", "path": paths["health"], "env": {}},
            "login": {
                "label": "login (Argon2)",
                "path": paths["login"],
                "env": {"BENCH_METHOD": "POST", "BENCH_BODY": login_body},
                # Each worker hashes one password at a time and holds one more in line (accounts/hashers.py); more
                # logins in flight than that are refused with 429, which would measure refusals, not logins.
                "connections": 2,
            },
            "refresh": {
                "label": "token refresh (rotation)",
                "path": paths["refresh"],
                "env": {"BENCH_MODE": "refresh", "BENCH_TOKENS": seed["refresh_tokens"]},
            },
            "me": {"label": "users/me", "path": paths["me"], "env": {"BENCH_AUTH": token}},
            "users": {"label": "users list (50)", "path": paths["users"], "env": {"BENCH_AUTH": token}},
            "users_big": {
                "label": "users list (50), tenant 10x",
                "path": paths["users"],
                "env": {"BENCH_AUTH": seed["big_access"]},
            },
            # The same lists as the first read after a write sees them: a parameter the list does not know keeps
            # its page out of the cache (bazar/caching.py CachedListMixin), so every request builds it.
            "users_built": {
                "label": "users list (50), built afresh",
                "path": paths["users"] + "&built=afresh",
                "env": {"BENCH_AUTH": token},
            },
            "users_big_built": {
                "label": "users list (50), tenant 10x, built afresh",
                "path": paths["users"] + "&built=afresh",
                "env": {"BENCH_AUTH": seed["big_access"]},
            },
            "assistants": {"label": "assistants list (50)", "path": paths["assistants"], "env": {"BENCH_AUTH": token}},
            "messages": {"label": "messages first page (50)", "path": paths["messages"], "env": {"BENCH_AUTH": token}},
            "messages_deep": {"label": "messages deep cursor page (50)", "path": None, "env": {"BENCH_AUTH": token}},
            "messages_small": {
                "label": "messages first page, thread 10x smaller",
                "path": paths["messages_small"],
                "env": {"BENCH_AUTH": token},
            },
            "file": {"label": "file download (1 MB)", "path": paths["file"], "env": {"BENCH_AUTH": token}},
        }
        for name in ("assistants", "messages", "messages_small", "file"):
            if not seed["routed"][name]:
                self.notes[name] = "endpoint missing"
        if "messages" in self.notes:
            self.notes["messages_deep"] = "endpoint missing"

    def probe(self) -> None:
        """One request per endpoint: anything but a 200 is reported instead of measured."""
        token = self.seed["me_access"]
        for name, spec in self.specs.items():
            if name in self.notes or name == "messages_deep":
                continue
            if name == "refresh":
                status, body = self._probe_refresh()
            elif name == "login":
                status, body = http(self.base + spec["path"], method="POST", body=json.loads(spec["env"]["BENCH_BODY"]))
            else:
                status, body = http(self.base + spec["path"], token=spec["env"].get("BENCH_AUTH", ""))
            if status != 200:
                self.notes[name] = f"probe answered {status}: {body[:120].decode(errors='replace')}"
            elif name == "messages":
                self._deep_page(json.loads(body), token)

    def _probe_refresh(self) -> tuple[int, bytes]:
        path = Path(self.seed["refresh_tokens"])
        tokens = path.read_text().split()
        status, body = http(self.base + self.specs["refresh"]["path"], method="POST", body={"refresh": tokens[0]})
        if status == 200:
            tokens[0] = json.loads(body)["refresh"]
        # A refresh token is spent once used: the warm-up and the measured run each get their own half.
        half = len(tokens) // 2
        warmup, measured = path.with_suffix(".warmup"), path.with_suffix(".measured")
        warmup.write_text("\n".join(tokens[:half]) + "\n")
        measured.write_text("\n".join(tokens[half:]) + "\n")
        self.specs["refresh"]["env"].update({"BENCH_TOKENS": str(measured), "BENCH_TOKENS_WARMUP": str(warmup)})
        return status, body

    def _deep_page(self, first: dict, token: str) -> None:
        """A cursor 90% of the way into the big thread, in whichever direction the endpoint orders messages."""
        spec = self.specs["messages_deep"]
        next_url = first.get("next")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(next_url or "").query)
        if "cursor" not in query:
            self.notes["messages_deep"] = "no cursor pagination (no cursor in `next`)"
            return
        cursor = urllib.parse.parse_qs(base64.b64decode(query["cursor"][0]).decode())
        results = first.get("results", [])
        descending = len(results) > 1 and results[0].get("created_at", "") > results[1].get("created_at", "")
        cursor = {k: v[0] for k, v in cursor.items() if k != "o"}
        cursor["p"] = self.seed["deep_positions"]["desc" if descending else "asc"]
        encoded = base64.b64encode(urllib.parse.urlencode(cursor).encode()).decode()
        path = self.specs["messages"]["path"] + "&" + urllib.parse.urlencode({"cursor": encoded})
        status, body = http(self.base + path, token=token)
        if status != 200 or len(json.loads(body).get("results", [])) != 50:
            self.notes["messages_deep"] = f"deep page probe answered {status}"
            return
        spec["path"] = path

    def measure(self, name: str, *, rate: int = 0, **kwargs) -> dict:
        """One wrk run of the endpoint; with a rate, paced to that many requests per second in all."""
        spec = self.specs[name]
        if name in self.notes or not spec["path"]:
            return {"label": spec["label"], "note": self.notes.get(name, "not measured")}
        log(f"  {spec['label']}" + (f", {rate}/s" if rate else ""))
        kwargs.setdefault("connections", spec.get("connections", CONNECTIONS))
        lua_env = {**spec["env"], "BENCH_RATE": str(rate)} if rate else spec["env"]
        return {"label": spec["label"], **wrk(self.base + spec["path"], name=name, lua_env=lua_env, **kwargs)}


# The latency goals compare two rows: (measured, baseline, goal, limit on the p50 ratio).
SCALING = [
    ("messages_deep", "messages", "messages: deep cursor page p50 / first page p50", 1.3),
    ("messages", "messages_small", "messages first page p50, thread 10x bigger", 1.2),
    ("users_big", "users", "users list p50, tenant 10x bigger", 1.2),
    # Not a goal of its own: what the first read after a write to a user or a membership sees.
    ("users_big_built", "users_built", "users list built afresh (no cached page) p50, tenant 10x bigger", None),
]


def scaling(endpoints: Endpoints) -> list[dict]:
    """Each latency goal from rounds that alternate its two rows back to back, which goes first alternating too;
    the verdict takes the median of the rounds' p50 ratios. Two rows measured minutes apart (the per-endpoint table)
    can differ by a third on a shared machine with nothing changed: a neighbour's burst lands on one of them."""
    out = []
    duration = f"{max(2.0, seconds(DURATION) / 2):.0f}s"
    for measured, baseline, label, limit in SCALING:
        if any(endpoints.notes.get(n) or not endpoints.specs[n]["path"] for n in (measured, baseline)):
            out.append({"label": label, "limit": limit, "ratios": []})
            continue
        log(f"  {label}")
        ratios = []
        for round_ in range(SCALING_ROUNDS):
            rows = {}
            for name in (baseline, measured) if round_ % 2 == 0 else (measured, baseline):
                spec = endpoints.specs[name]
                url = endpoints.base + spec["path"]
                rows[name] = wrk(url, name=f"scaling-{name}", duration=duration, lua_env=spec["env"], warmup=False)
            ratios.append(rows[measured]["p50"] / rows[baseline]["p50"] if rows[baseline]["p50"] else float("inf"))
        out.append({"label": label, "limit": limit, "ratios": ratios})
    return out


def flood_scenario(endpoints: Endpoints, name: str, *, rate: int) -> dict:
    """users/me p99 at a light paced load, without and then with wrong-password logins arriving at `rate` per
    second, in SCALING_ROUNDS rounds; the goal takes the median of the rounds' p99 ratios, like the latency
    comparisons (a single pair of 10 s runs moved by a factor of three between runs with nothing changed)."""
    flood_env = {
        "BENCH_MODE": "flood",
        "BENCH_FLOOD_EMAILS": endpoints.seed["flood_emails"],
        "BENCH_RATE": str(rate),
    }
    probe = {
        "name": "me",
        "connections": FLOOD_PROBE_CONNECTIONS,
        "duration": f"{max(2.0, seconds(DURATION) / 2):.0f}s",
        "rate": FLOOD_PROBE_RATE,
    }
    login_url = endpoints.base + endpoints.specs["login"]["path"]
    rounds = []
    if seconds(WARMUP) > 0:
        endpoints.measure(**{**probe, "duration": WARMUP}, warmup=False)
    for _ in range(SCALING_ROUNDS):
        normal = endpoints.measure(**probe, warmup=False)
        flood_result: dict = {}

        def flood(result: dict = flood_result) -> None:
            result.update(
                wrk(
                    login_url,
                    name=f"flood-{name}",
                    duration=f"{seconds(probe['duration']) + 2:.0f}s",
                    connections=FLOOD_CONNECTIONS,
                    lua_env=flood_env,
                    warmup=False,
                )
            )

        flooder = threading.Thread(target=flood)
        flooder.start()
        time.sleep(1.5)
        during = endpoints.measure(**probe, warmup=False)
        flooder.join()
        rounds.append({"normal": normal, "during": during, "flood": flood_result})
    # The flood alone, unpaced: what one attempt costs the server, and how many it can turn away per second.
    alone = wrk(
        login_url,
        name=f"flood-{name}-alone",
        duration=f"{max(2.0, seconds(DURATION) / 2):.0f}s",
        connections=FLOOD_CONNECTIONS,
        lua_env={**flood_env, "BENCH_RATE": "0"},
        warmup=False,
    )
    return {"rounds": rounds, "alone": alone}


def flood_ratios(result: dict) -> list[float]:
    """Each round's users/me p99 during the flood over its p99 just before."""
    return [
        r["during"]["p99"] / r["normal"]["p99"]
        for r in result.get("rounds", [])
        if "p99" in r["normal"] and "p99" in r["during"] and r["normal"]["p99"]
    ]


def worker_comparison(endpoints: Endpoints, seed: dict, production: dict) -> list[dict]:
    """The same rows under other worker types and counts (command-line overrides of gunicorn.conf.py)."""
    configs = [
        ("sync, 2 workers", ("-k", "sync", "-w", "2"), {}),
        ("sync, 4 workers", ("-k", "sync", "-w", "4"), {}),
        ("gthread, 2 workers x 4 threads", ("-k", "gthread", "-w", "2", "--threads", "4"), {}),
        ("gthread, 4 workers x 2 threads", ("-k", "gthread", "-w", "4", "--threads", "2"), {}),
    ]
    same = f"{production['worker_class']}, {production['workers']} workers"
    configs = [c for c in configs if not c[0].startswith(same)]
    configs += [
        (
            "production config, GUNICORN_REUSE_PORT=false (one socket shared by the workers)",
            (),
            {"GUNICORN_REUSE_PORT": "false"},
        ),
        (
            "production config, GUNICORN_MAX_REQUESTS=2000 (workers recycled, so one shared socket)",
            (),
            {"GUNICORN_MAX_REQUESTS": "2000"},
        ),
        (
            "production config, GUNICORN_MAX_REQUESTS=2000 GUNICORN_REUSE_PORT=true (recycled, a socket each)",
            (),
            {"GUNICORN_MAX_REQUESTS": "2000", "GUNICORN_REUSE_PORT": "true"},
        ),
        ("production config, GUNICORN_ACCESS_LOG=true", (), {"GUNICORN_ACCESS_LOG": "true"}),
    ]
    rows = []
    names = [n for n in ("me", "assistants", "login") if n not in endpoints.notes]
    for label, extra, env in configs:
        with Server(
            f"workers-{len(rows)}",
            "bazar.wsgi",
            env={**APP_ENV, **UNTHROTTLED, **env},
            extra=extra,
            ready_path=seed["paths"]["health"],
        ):
            log(f"workers: {label}")
            results = {n: endpoints.measure(n) for n in names}
            results["soak"] = soak_row(endpoints, duration=DURATION)
            rows.append({"config": label, "results": results})
    return rows


def soak_row(endpoints: "Endpoints", duration: str) -> dict:
    row = endpoints.measure("me", connections=SOAK_CONNECTIONS, duration=duration)
    return {**row, "label": f"users/me, {SOAK_CONNECTIONS} connections"}


# ---------------------------------------------------------------- report


def fmt_row(row: dict, ceiling: dict | None) -> list[str]:
    if "note" in row:
        return [row["label"], NA, NA, NA, NA, NA, NA, NA, row["note"]]
    ratio = f"{100 * row['rps'] / ceiling['rps']:.1f}%" if ceiling and ceiling["rps"] else NA
    cpu = row.get("cpu_ms", 0.0)
    cpu_ratio = f"{100 * ceiling['cpu_ms'] / cpu:.1f}%" if ceiling and ceiling.get("cpu_ms") and cpu else NA
    bad = {k: v for k, v in row["statuses"].items() if not k.startswith("2")}
    note = f"non-2xx: {bad}" if bad else ""
    return [
        row["label"],
        f"{row['rps']:.0f}",
        f"{row['p50']:.1f}",
        f"{row['p99']:.1f}",
        str(row["errors"]),
        ratio,
        f"{cpu:.2f}" if cpu else NA,
        cpu_ratio,
        note,
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goal(label: str, value: float | None, target: str, ok: bool | None) -> list[str]:
    verdict = "not measured" if ok is None else ("met" if ok else "MISSED")
    return [label, NA if value is None else f"{value:.2f}", target, verdict]


# The share-of-the-ceiling goals: (endpoint, lowest share).
SHARES = [("me", 0.25), ("assistants", 0.08)]


def share_rounds(endpoints: Endpoints, app: "Server", hello: "Server") -> dict[str, list[dict]]:
    """Each share goal from rounds that measure the endpoint and the hello app back to back, both servers running
    (which goes first alternating); the verdict takes the median of the rounds' ratios, by req/s and by CPU. Like
    the latency comparisons: the ceiling row of the table was measured minutes before the endpoint rows, and in
    that time a shared machine's speed can move by a third, which moves the ratio as much."""
    duration = f"{max(2.0, seconds(DURATION) / 2):.0f}s"
    out: dict[str, list[dict]] = {}
    for name, _ in SHARES:
        spec = endpoints.specs[name]
        if endpoints.notes.get(name) or not spec["path"]:
            continue
        log(f"  {spec['label']} and the ceiling")
        out[name] = []
        for round_ in range(SCALING_ROUNDS):
            rows = {}
            for which in ("hello", name) if round_ % 2 == 0 else (name, "hello"):
                if which == "hello":
                    url, lua_env, server = hello.base + "/", {}, hello
                else:
                    url, lua_env, server = app.base + spec["path"], spec["env"], app
                rows[which] = wrk(
                    url, name=f"share-{which}", duration=duration, lua_env=lua_env, warmup=False, server=server
                )
            top, row = rows["hello"], rows[name]
            out[name].append(
                {
                    "rps": row["rps"] / top["rps"] if top["rps"] else 0.0,
                    "cpu": top["cpu_ms"] / row["cpu_ms"] if row["cpu_ms"] else 0.0,
                }
            )
    return out


def spy_on(server: "Server", url: str, *, name: str, lua_env: dict, connections: int = CONNECTIONS) -> dict:
    """py-spy on the server's workers while wrk drives `url` (scripts/bench/spy_profile.py): the share of the samples
    per region of a request, and the CPU per request of that run."""
    out = WORK / f"py-spy-{name}.txt"
    out.unlink(missing_ok=True)
    try:
        spy = spy_profile.record(server.process.pid, out, seconds=SPY_SECONDS)
    except OSError as exc:
        return {"error": f"py-spy did not start: {exc}"}
    time.sleep(1)  # py-spy attaches to each worker first
    result = wrk(
        url,
        name=f"spy-{name}",
        duration=f"{max(1, SPY_SECONDS - 2)}s",
        connections=connections,
        lua_env=lua_env,
        warmup=False,
        server=server,
    )
    output = spy.communicate()[0].strip()
    if spy.returncode != 0 or not out.exists():
        return {"error": f"py-spy failed: {output.splitlines()[-1] if output else spy.returncode}"}
    samples, shares = spy_profile.regions(out.read_text())
    return {
        "samples": samples,
        "shares": shares,
        "cpu_ms": result["cpu_ms"],
        "rps": result["rps"],
        "connections": connections,
        "statuses": result["statuses"],
    }


def goals(shares: dict, soak: dict, flood_protected: dict, scaling_rows: list[dict]) -> list[list[str]]:
    def ratio(name: str) -> float | None:
        rounds = shares.get(name)
        return statistics.median(r["rps"] for r in rounds) if rounds else None

    def cpu_ratio(name: str) -> float | None:
        rounds = shares.get(name)
        return statistics.median(r["cpu"] for r in rounds) if rounds else None

    rows = []
    value = ratio("me")
    rows.append(goal("users/me share of the ceiling", value, ">= 0.25", None if value is None else value >= 0.25))
    value = ratio("assistants")
    rows.append(
        goal("assistants list (50) share of the ceiling", value, ">= 0.08", None if value is None else value >= 0.08)
    )
    # The same two goals from server CPU per request, which other load on the machine hardly disturbs.
    value = cpu_ratio("me")
    rows.append(
        goal("users/me share of the ceiling, by CPU", value, ">= 0.25", None if value is None else value >= 0.25)
    )
    value = cpu_ratio("assistants")
    rows.append(
        goal("assistants list share of the ceiling, by CPU", value, ">= 0.08", None if value is None else value >= 0.08)
    )
    for comparison in scaling_rows:
        if comparison["limit"] is None:
            continue
        ratios = comparison["ratios"]
        value = statistics.median(ratios) if ratios else None
        verdict = None if value is None else value <= comparison["limit"]
        rows.append(goal(comparison["label"], value, f"<= {comparison['limit']}", verdict))
    if "p99" in soak:
        rows.append(
            goal("users/me at 32 connections: p99 ms", soak["p99"], "< 100", soak["p99"] < 100 and soak["errors"] == 0)
        )
        rows.append(goal("users/me at 32 connections: errors", soak["errors"], "0", soak["errors"] == 0))
    ratios = flood_ratios(flood_protected)
    if ratios:
        value = statistics.median(ratios)
        rows.append(goal("login flood: users/me p99 during / normal", value, "<= 2", value <= 2))
    return rows


def write_report(ctx: dict) -> str:
    m, ceiling = ctx["machine"], ctx["ceiling"]
    header = [
        "endpoint",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "of ceiling (req/s)",
        "server CPU ms/req",
        "of ceiling (CPU)",
        "note",
    ]
    calibration = [fmt_row(ctx[name], ceiling) for name in ("bare_drf", "me_no_middleware") if name in ctx]
    main_rows = [fmt_row(ceiling, None), *calibration] + [fmt_row(r, ceiling) for r in ctx["results"].values()]
    soak, fl_open, fl_prot = ctx["soak"], ctx["flood_open"], ctx["flood_protected"]
    gun = ctx["gunicorn"]
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {m['date']} (quick run: `BENCH_DURATION=5s make bench`). "
        "Numbers from one machine and one run: compare rows of the same run, not runs of different machines. "
        "Every Bazar row is divided by the bare-WSGI ceiling measured in the same run under the same gunicorn "
        "settings.",
        "",
        "How to read it: wrk keeps a fixed number of connections busy (closed loop), so p50/p99 include the time a "
        "request waits for a free worker; req/s is what two workers on this machine sustain while PostgreSQL, Redis "
        "and wrk share the same cores. The ceiling is what gunicorn alone, with the same config, "
        "does with a handler that returns at once. Server CPU ms/req is the CPU gunicorn's processes spent "
        "per answered request (PostgreSQL and Redis not included): unlike req/s it barely moves when other programs "
        "compete for the cores, so its ratio to the ceiling is the steadier of the two on a shared machine.",
        "",
        "## Machine",
        "",
        table(
            ["what", "value"],
            [
                ["CPU", f"{m['cpu']} ({m['nproc']} cores seen by nproc)"],
                ["memory", m["memory"]],
                ["kernel", m["kernel"]],
                ["load average before the run", m["load_before"] + " (anything above ~0.3 means other work competed)"],
                ["Python / Django / DRF", f"{m['python']} / {m['django']} / {m['drf']}"],
                [
                    "gunicorn",
                    f"{m['gunicorn']}: {gun['config']}, worker class {gun['worker_class']}, "
                    f"{gun['workers']} workers x {gun['threads']} threads (WEB_CONCURRENCY=2)",
                ],
                ["PostgreSQL / Redis", f"{m['postgresql']} / {m['redis']} (127.0.0.1, same machine)"],
                ["load generator", f"{m['wrk']}, {WRK_THREADS} thread(s), same machine"],
            ],
        ),
        "",
        "## Setup",
        "",
        f"- Data: {ctx['seed']['counts']['users']} users in {ctx['seed']['counts']['organizations']} organizations "
        f"(the measured tenant has {ctx['seed']['counts']['main_members']} members, the 10x tenant "
        f"{ctx['seed']['counts']['big_members']}), {ctx['seed']['counts']['assistants_visible']} assistants visible "
        f"to the caller among 150, one thread of {MESSAGES:,} messages and one of "
        f"{ctx['seed']['counts']['messages_small']:,}, files of 1 MB.",
        "- Server: `gunicorn -c gunicorn.conf.py bazar.wsgi -b 127.0.0.1:PORT` with DEBUG=false, "
        "WEB_CONCURRENCY=2, PostgreSQL (psycopg pool) and Redis, API rate limits raised so that wrk is not "
        "throttled (except in the protected login flood).",
        f"- Load: wrk, {CONNECTIONS} connections (login: 2, what the workers hash or hold in line without "
        f"refusing), {DURATION} per row after a {WARMUP} warm-up; p50/p99 are wrk's "
        "latency percentiles; errors = socket errors + timeouts + non-2xx answers.",
        "- Cached lists: the users and assistants lists answer a repeated query from Redis until a write could "
        "change it, as in production (`bazar/caching.py`), so their rows measure that. The users rows *built afresh* "
        "add a parameter the list does not know, which keeps the page out of the cache: every request runs the count "
        "and the page, as the first read after a write to a user or a membership does.",
        "",
        "## Per endpoint",
        "",
        table(header, main_rows),
        "",
        "## Latency comparisons",
        "",
        f"The latency goals compare two rows. Rows measured minutes apart, as in the table above, can differ by a "
        f"third on a shared machine with nothing changed, so each comparison is measured on its own: "
        f"{SCALING_ROUNDS} rounds that run the two rows back to back ({max(2.0, seconds(DURATION) / 2):.0f}s each, "
        "which goes first alternating), and the goal takes the median of the rounds' p50 ratios.",
        "",
        table(
            ["comparison", "p50 ratio per round", "median", "target"],
            [
                [
                    c["label"],
                    ", ".join(f"{r:.2f}" for r in c["ratios"]) or NA,
                    f"{statistics.median(c['ratios']):.2f}" if c["ratios"] else NA,
                    f"<= {c['limit']}" if c["limit"] else "(for information)",
                ]
                for c in ctx["scaling"]
            ],
        ),
        "",
        "## Share of the ceiling",
        "",
        "The per-endpoint table divides each row by the ceiling row, measured minutes earlier. The share goals are "
        f"measured on their own, like the latency comparisons: {SCALING_ROUNDS} rounds that run the endpoint and the "
        f"hello app (both servers up) back to back ({max(2.0, seconds(DURATION) / 2):.0f}s each, which goes first "
        "alternating), and the goal takes the median of the rounds' ratios, by req/s and by server CPU.",
        "",
        table(
            ["endpoint", "share by req/s per round", "median", "share by CPU per round", "median", "target"],
            [
                [
                    ctx["results"][name]["label"],
                    ", ".join(f"{r['rps']:.1%}" for r in ctx["shares"][name]),
                    f"{statistics.median(r['rps'] for r in ctx['shares'][name]):.1%}",
                    ", ".join(f"{r['cpu']:.1%}" for r in ctx["shares"][name]),
                    f"{statistics.median(r['cpu'] for r in ctx['shares'][name]):.1%}",
                    f">= {limit:.0%}",
                ]
                for name, limit in SHARES
                if ctx["shares"].get(name)
            ],
        ),
        "",
        f"## users/me at {SOAK_CONNECTIONS} connections for {SOAK_DURATION}",
        "",
        table(header, [fmt_row(soak, ceiling)]),
        "",
        memory_line(ctx.get("memory")),
        "",
        "## Login flood",
        "",
        f"Wrong-password logins for 200 different accounts at ~{FLOOD_RATE}/s over {FLOOD_CONNECTIONS} connections, "
        f"while users/me is measured at a light load: {FLOOD_PROBE_RATE} requests/s over {FLOOD_PROBE_CONNECTIONS} "
        "paced connections (in a closed loop, four connections alone keep both cores busy, and the p99 then measures "
        "the queue). Each round measures users/me without the flood, then with it; the goal takes the median of the "
        "rounds' p99 ratios. *Unprotected*: login rate limit and lockout raised out of reach, so every attempt "
        "reaches the password check. *Protected*: production login rate limit and lockout. In both, each worker "
        "hashes one password at a time, in a low-priority thread, with one more in line, and refuses further "
        "attempts with 429 (accounts/hashers.py).",
        "",
        table(
            [
                "scenario",
                "users/me req/s without / with",
                "p50 ms without / with",
                "p99 ms without / with",
                "p99 ratio",
                "flood req/s",
                "flood answers",
            ],
            flood_rows(fl_open, "unprotected") + flood_rows(fl_prot, "protected"),
        ),
        "",
        "The flood alone, unpaced (as fast as 16 connections go): what one attempt costs the server.",
        "",
        flood_alone_line(fl_open, "unprotected"),
        flood_alone_line(fl_prot, "protected"),
        "",
    ]
    if ctx["workers"]:
        names = list(ctx["workers"][0]["results"])
        prod_label = f"production: {gun['worker_class']}, {gun['workers']} workers x {gun['threads']} threads"
        production = {**ctx["results"], "soak": soak}
        rows = [[prod_label] + [_rps_p99(production.get(n, {})) for n in names]]
        rows += [[w["config"]] + [_rps_p99(w["results"][n]) for n in names] for w in ctx["workers"]]
        parts += [
            "## gunicorn worker type and count",
            "",
            "Same run, same rows, only `-k/-w/--threads` (or one setting) changed on the command line: req/s, p99 ms "
            "and gunicorn's CPU per request.",
            "",
            table(["config"] + [ctx["workers"][0]["results"][n]["label"] for n in names], rows),
            "",
        ]
    parts += spy_section(ctx)
    parts += [
        "## Where the CPU goes",
        "",
        "`python scripts/bench/cpu_profile.py` calls the WSGI application in-process (no network, no gunicorn) under "
        "cProfile with a CPU clock and groups the time by package; standard library and builtins count for their "
        "caller. To tell whether a change made a request cheaper, count instructions instead: "
        "`python scripts/bench/instructions.py me users` (valgrind) gives the same number on every run, where times "
        "on a shared machine move by a fifth.",
        "",
        "```",
        ctx["profile"].rstrip(),
        "```",
        "",
    ]
    hc = ctx["hash_cost"]
    parts += [
        "## Password hashing (Argon2id)",
        "",
        f"`{hc['configured']['hasher']}` with {hc['configured']['params']}: one verification (what a login pays) "
        f"costs {hc['configured']['verify']['median_ms']} ms of CPU (median, min "
        f"{hc['configured']['verify']['min_ms']} ms), measured by `python scripts/bench/hash_cost.py`. "
        "Target: 50-100 ms. Other parameters on the same machine:",
        "",
        table(
            ["time_cost", "memory", "parallelism", "CPU ms (median)", "min"],
            [
                [
                    str(r["time_cost"]),
                    f"{r['memory_cost'] // 1024} MiB",
                    str(r["parallelism"]),
                    str(r["median_ms"]),
                    str(r["min_ms"]),
                ]
                for r in hc["grid"]
            ],
        ),
        "",
        "## Goals",
        "",
        table(["goal", "measured", "target", "verdict"], goals(ctx["shares"], soak, fl_prot, ctx["scaling"])),
        "",
        calibration_line(ctx),
        "",
        "Query budgets (at most 3 queries per list request whatever the page size; authentication one query, none "
        "while the user is cached) "
        "are asserted by `bazar/tests/test_query_budgets.py`, not measured here.",
        "",
    ]
    text = "\n".join(parts)
    OUTPUT.write_text(text)
    return text


def calibration_line(ctx: dict) -> str:
    """What the goals stand on: the share a bare DRF view reaches on this machine, and users/me against it."""
    bare, me, ceiling = ctx.get("bare_drf"), ctx["results"].get("me", {}), ctx["ceiling"]
    if not bare or not bare.get("cpu_ms") or not me.get("cpu_ms"):
        return "Calibration: not measured."
    line = (
        f"Calibration: in this run a bare DRF view (`scripts/bench/bare_drf.py`: no middleware, authentication, "
        f"throttle or database) reaches {100 * bare['rps'] / ceiling['rps']:.1f}% of the ceiling by req/s and "
        f"{100 * ceiling['cpu_ms'] / bare['cpu_ms']:.1f}% by CPU ({bare['cpu_ms']:.2f} ms per request). "
        f"users/me costs {me['cpu_ms'] / bare['cpu_ms']:.2f}x its CPU: JWT authentication, the plan-rate count, the "
        "cached user (one Redis round trip), the security middleware, the request id and the request log line."
    )
    floor = ctx.get("me_no_middleware", {})
    if floor.get("cpu_ms"):
        line += (
            f" Served with no middleware at all (`scripts/bench/settings_no_middleware.py`), users/me reaches "
            f"{100 * floor['rps'] / ceiling['rps']:.1f}% by req/s and {100 * ceiling['cpu_ms'] / floor['cpu_ms']:.1f}% "
            f"by CPU ({floor['cpu_ms']:.2f} ms per request): what authentication, the Redis round trip, the serializer "
            "and Django + DRF cost before any middleware."
        )
    if (ctx.get("spy") or {}).get("me", {}).get("shares"):
        line += " Where users/me's CPU goes, region by region: the py-spy section below."
    return line


def memory_line(memory: dict | None) -> str:
    """Worker memory across the run: what tells whether workers need recycling (gunicorn.conf.py max_requests)."""
    if not memory or not memory["after"]:
        return "Worker memory: not measured."
    before = ", ".join(f"{mb:.0f}" for mb in memory["after_probe"])
    after = ", ".join(f"{mb:.0f}" for mb in memory["after"])
    return (
        f"Worker memory (resident, MB per worker): {before} after the first requests, {after} after "
        f"{memory['requests']:,} more requests (the rows above), with no worker recycled. Most of the rise comes with "
        "the first logins: Argon2 takes its memory cost (24 MiB) in the worker's one hashing thread "
        "(accounts/hashers.py), and the allocator keeps it in that thread's arena for the next hash; repeated login "
        "rows do not raise it further."
    )


def _rps_p99(row: dict) -> str:
    if "rps" not in row:
        return row.get("note", NA)
    errors = f", {row['errors']} errors" if row.get("errors") else ""
    return f"{row['rps']:.0f} req/s, p99 {row['p99']:.0f}, {row.get('cpu_ms', 0):.1f} ms CPU{errors}"


def _answers(found: dict) -> str:
    statuses = found.get("statuses", {})
    if set(statuses) <= {"200"}:
        return ""
    return " (answers: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())) + ")"


SPIED = {"me": "users/me", "refused": "login refused (429)", "hello": "hello app (ceiling)"}


def spy_section(ctx: dict) -> list[str]:
    found_by_name = ctx.get("spy") or {}
    spy = {name: found_by_name[name] for name in SPIED if found_by_name.get(name)}
    if not spy:
        return []
    parts = ["## Where a request's CPU goes, sampled under load (py-spy)", ""]
    failed = [f"{SPIED[name]}: {found['error']}" for name, found in spy.items() if "error" in found]
    spy = {name: found for name, found in spy.items() if "error" not in found}
    runs = "; ".join(
        f"{SPIED[name]} with {found['connections']} connections, {found['samples']:,} samples, "
        f"{found['rps']:.0f} req/s, {found['cpu_ms']:.2f} ms of server CPU per request{_answers(found)}"
        for name, found in spy.items()
    )
    if spy:
        parts += [
            f"py-spy sampled gunicorn's workers ({SPY_SECONDS}s per run, 100 samples/s, only threads holding the GIL, "
            f"the workers never paused) while wrk drove one endpoint: {runs}. Each sample counts for the innermost "
            "region of the request it was taken in (`scripts/bench/spy_profile.py`); ms per request is the region's "
            "share of the run's CPU per request. py-spy shares the two cores, so these req/s are lower than above.",
            "",
        ]
        rows = []
        for region in spy_profile.ORDER:
            cells = [(found["shares"].get(region, 0.0), found["cpu_ms"]) for found in spy.values()]
            if any(share for share, _ in cells):
                rows.append(
                    [region, *(f"{100 * share:.1f}% / {share * cpu:.2f}" if share else "-" for share, cpu in cells)]
                )
        rows.append(["all", *(f"100% / {found['cpu_ms']:.2f}" for found in spy.values())])
        header = ["region", *(f"{SPIED[name]}: share / ms" for name in spy)]
        parts += [table(header, rows), ""]
    if failed:
        parts += [f"Not measured: {'; '.join(failed)}.", ""]
    return parts


def flood_rows(result: dict, label: str) -> list[list[str]]:
    rounds = result.get("rounds", [])
    if not rounds:
        return [[label, NA, NA, NA, NA, NA, NA, "not measured"]]
    rows = []
    for number, r in enumerate(rounds, 1):
        normal, during, flood = r["normal"], r["during"], r["flood"]
        if "rps" not in normal or "rps" not in during:
            rows.append([f"{label}, round {number}", NA, NA, NA, NA, NA, NA, normal.get("note", "not measured")])
            continue
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(flood.get("statuses", {}).items()))
        rows.append(
            [
                f"{label}, round {number}",
                f"{normal['rps']:.0f} / {during['rps']:.0f}",
                f"{normal['p50']:.1f} / {during['p50']:.1f}",
                f"{normal['p99']:.1f} / {during['p99']:.1f}",
                f"{during['p99'] / normal['p99']:.2f}" if normal["p99"] else NA,
                f"{flood.get('rps', 0):.0f}",
                answers or NA,
            ]
        )
    return rows


def flood_alone_line(result: dict, label: str) -> str:
    alone = result.get("alone", {})
    if "rps" not in alone:
        return f"- {label}: not measured"
    return f"- {label}: {alone['rps']:.0f} attempts/s answered, {alone['cpu_ms']:.1f} ms of server CPU each"


# ---------------------------------------------------------------- main


def main() -> None:
    if "--report-only" in sys.argv:
        print(write_report(json.loads((WORK / "results.json").read_text())))
        return
    began = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "media").mkdir(exist_ok=True)
    ensure_tools()
    log("PostgreSQL and Redis")
    run(["bash", ".ci/services.sh"], capture=True)
    the_machine = machine()
    log(f"fresh database {DB_NAME}, migrate")
    database_create()
    shutil.rmtree(WORK / "media", ignore_errors=True)
    run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], env=APP_ENV)
    log(f"seed ({MESSAGES:,} messages)")
    seed_path = WORK / "seed.json"
    run(
        [str(VENV_BIN / "python"), str(HERE / "seed.py"), "--out", str(seed_path), "--messages", str(MESSAGES)],
        env=APP_ENV,
    )
    seed = json.loads(seed_path.read_text())
    log("Argon2 cost")
    hash_cost = json.loads(
        run(
            [str(VENV_BIN / "python"), str(HERE / "hash_cost.py"), "--json", "--rounds", str(HASH_ROUNDS)],
            env=APP_ENV,
            capture=True,
        )
    )

    log("ceiling: bare WSGI hello world")
    with Server("hello", "hello_wsgi:application", env={**APP_ENV}, extra=("--pythonpath", str(HERE))) as server:
        ceiling = {"label": "bare WSGI hello world (ceiling)", **wrk(server.base + "/", name="hello", lua_env={})}
    log("calibration: a bare DRF view")
    with Server("bare-drf", "bare_drf:application", env={**APP_ENV}, extra=("--pythonpath", str(HERE))) as server:
        bare_drf = {"label": "bare DRF view (calibration)", **wrk(server.base + "/", name="bare-drf", lua_env={})}
    log("calibration: users/me with no middleware")
    with Server(
        "no-middleware",
        "bazar.wsgi",
        env={**APP_ENV, **UNTHROTTLED, "DJANGO_SETTINGS_MODULE": "settings_no_middleware"},
        extra=("--pythonpath", str(HERE)),
        ready_path=seed["paths"]["health"],
    ) as server:
        me_url, me_auth = server.base + seed["paths"]["me"], {"BENCH_AUTH": seed["me_access"]}
        me_bare = {
            "label": "users/me, no middleware (calibration)",
            **wrk(me_url, name="me-no-middleware", lua_env=me_auth),
        }

    results: dict = {}
    with Server("app", "bazar.wsgi", env={**APP_ENV, **UNTHROTTLED}, ready_path=seed["paths"]["health"]) as server:
        endpoints = Endpoints(seed, server.base)
        endpoints.probe()
        warm_rss = server.worker_rss_mb()
        for note_name, note in endpoints.notes.items():
            log(f"  {note_name}: {note}")
        log("per endpoint")
        for name in endpoints.specs:
            results[name] = endpoints.measure(name)
        log(f"share of the ceiling, {SCALING_ROUNDS} alternating rounds each")
        with Server(
            "hello-beside", "hello_wsgi:application", env={**APP_ENV}, extra=("--pythonpath", str(HERE)), port=PORT + 1
        ) as hello:
            for name, _ in SHARES:  # the hello server's start emptied Redis: fill the caches again
                if seconds(WARMUP) > 0 and name not in endpoints.notes and endpoints.specs[name]["path"]:
                    endpoints.measure(name, duration=WARMUP, warmup=False)
            shares = share_rounds(endpoints, server, hello)
            spy: dict = {}
            if SPY_SECONDS > 0 and "me" not in endpoints.notes:
                log(f"users/me and the hello app, sampled by py-spy ({SPY_SECONDS}s each)")
                me = endpoints.specs["me"]
                spy["me"] = spy_on(server, server.base + me["path"], name="me", lua_env=me["env"])
                spy["hello"] = spy_on(hello, hello.base + "/", name="hello", lua_env={})
        log(f"latency comparisons, {SCALING_ROUNDS} alternating rounds each")
        scaling_rows = scaling(endpoints)
        log(f"users/me at {SOAK_CONNECTIONS} connections for {SOAK_DURATION}")
        soak = soak_row(endpoints, duration=SOAK_DURATION)
        served = sum(r.get("requests", 0) for r in [*results.values(), soak])
        memory = {"after_probe": warm_rss, "requests": served, "after": server.worker_rss_mb()}
        log("login flood, unprotected")
        flood_open = flood_scenario(endpoints, "open", rate=FLOOD_RATE)

    with Server(
        "protected", "bazar.wsgi", env={**APP_ENV, **LOGIN_PROTECTED}, ready_path=seed["paths"]["health"]
    ) as server:
        log("login flood, production login protection")
        endpoints.base = server.base
        flood_protected = flood_scenario(endpoints, "protected", rate=FLOOD_RATE)
        if SPY_SECONDS > 0 and "login" not in endpoints.notes:
            log(f"refused logins, sampled by py-spy ({SPY_SECONDS}s)")
            spy["refused"] = spy_on(
                server,
                server.base + endpoints.specs["login"]["path"],
                name="refused",
                lua_env={"BENCH_MODE": "flood", "BENCH_FLOOD_EMAILS": seed["flood_emails"], "BENCH_RATE": "0"},
                connections=FLOOD_CONNECTIONS,
            )

    log("CPU profile (in-process)")
    profile_out = WORK / "profile.txt"
    names = [n for n in ("me", "users", "assistants", "messages") if n not in endpoints.notes]
    run(
        [
            str(VENV_BIN / "python"),
            str(HERE / "cpu_profile.py"),
            *names,
            "-n",
            str(PROFILE_REQUESTS),
            "--seed",
            str(seed_path),
            "--out",
            str(profile_out),
        ],
        env={**APP_ENV, **UNTHROTTLED},
        capture=True,
    )
    gunicorn = production_gunicorn()
    workers = worker_comparison(endpoints, seed, gunicorn) if COMPARE_WORKERS else []
    ctx = {
        "machine": the_machine,
        "seed": seed,
        "ceiling": ceiling,
        "bare_drf": bare_drf,
        "me_no_middleware": me_bare,
        "results": results,
        "shares": shares,
        "scaling": scaling_rows,
        "soak": soak,
        "memory": memory,
        "flood_open": flood_open,
        "flood_protected": flood_protected,
        "workers": workers,
        "hash_cost": hash_cost,
        "gunicorn": gunicorn,
        "profile": profile_out.read_text(),
        "spy": spy,
    }
    # Kept so that the report can be rewritten without measuring again: run.py --report-only
    (WORK / "results.json").write_text(json.dumps(ctx, indent=1))
    report = write_report(ctx)
    print(report)
    log(f"wrote {OUTPUT} in {time.monotonic() - began:.0f}s")


if __name__ == "__main__":
    main()
