"""The production stack: check --deploy, gunicorn's configuration, the Dockerfile and docker-compose.yml."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def production_env(**overrides: str) -> dict[str, str]:
    """A production process environment: DEBUG unset, a real SECRET_KEY and ALLOWED_HOSTS, nothing else."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env |= {
        "SECRET_KEY": "deploy-check-9c1f0a7d3e5b8c2a4f6e1d0b9a8c7e6f5d4c3b2a1f0e9d8c",
        "ALLOWED_HOSTS": "bazar.example.com",
        "DJANGO_SETTINGS_MODULE": "bazar.settings",
    }
    return env | overrides


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def dockerfile_instruction_json(instruction: str) -> list[str]:
    """The exec-form (JSON) arguments of the last CMD, or of the HEALTHCHECK's CMD."""
    text = DOCKERFILE.replace("\\\n", " ")
    pattern = r"^CMD (\[.*\])$" if instruction == "CMD" else r"^HEALTHCHECK .*?CMD (\[.*\])$"
    return json.loads(re.findall(pattern, text, re.MULTILINE)[-1])


def env_example_keys() -> set[str]:
    # A key counts as documented when it is set, or shown commented out ("# JWT_SIGNING_KEY=").
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.MULTILINE))


# ---------------------------------------------------------------- check --deploy
@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env would leak into the production environment")
def test_check_deploy_reports_nothing_with_production_env():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env would leak into the production environment")
@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
        ({"EMAIL_URL": "consolemail://"}, "mail.E001"),
    ],
)
def test_check_deploy_fails_when_a_production_default_is_weakened(override, check_id):
    result = run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            "--tag",
            "security",
            "--tag",
            "mail",
        ],
        production_env(**override),
    )

    assert result.returncode != 0
    assert check_id in result.stderr


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    env = production_env()
    del env["SECRET_KEY"]

    result = run([sys.executable, "manage.py", "check"], env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


# ---------------------------------------------------------------- gunicorn
def gunicorn_config(**env: str) -> dict[str, str]:
    command = [*dockerfile_instruction_json("CMD"), "--print-config"]
    assert command[0] == "gunicorn"
    result = run([str(GUNICORN), *command[1:]], production_env(**env))
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def test_gunicorn_workers_come_from_web_concurrency():
    assert gunicorn_config(WEB_CONCURRENCY="3")["workers"] == "3"


def test_gunicorn_workers_default_to_the_cpu_count():
    assert gunicorn_config()["workers"] == str(len(os.sched_getaffinity(0)))


def test_gunicorn_access_line_is_off_by_default():
    # Django's bazar.request line already logs every request; gunicorn's cost ~3 ms CPU per request (make bench).
    assert gunicorn_config()["accesslog"] == "None"


ACCESS_FIELDS_BUILT = """
import runpy
from gunicorn.config import Config

conf = runpy.run_path("gunicorn.conf.py")
cfg = Config()
for name in ("accesslog", "logconfig_dict", "logger_class"):
    cfg.set(name, conf[name])
logger = cfg.logger_class(cfg)
built = []
logger.atoms = lambda *args: built.append(args) or {}
logger.access(resp=None, req=None, environ={}, request_time=None)
print(len(built))
"""


@pytest.mark.parametrize(("access_log", "built"), [("false", "0"), ("true", "1")])
def test_gunicorn_builds_access_line_fields_only_when_the_access_log_is_on(access_log, built):
    # With logconfig_dict set, gunicorn's own logger builds them for every request, written or not.
    result = run(
        [str(GUNICORN.with_name("python")), "-c", ACCESS_FIELDS_BUILT], production_env(GUNICORN_ACCESS_LOG=access_log)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == built


def test_gunicorn_preloads_the_app_and_importing_it_opens_no_connection():
    # Preloading imports the app in the master before forking: a connection made then would be shared by workers.
    code = (
        "import bazar.wsgi\n"
        "from django.db import connections\n"
        "from django.core.cache import cache\n"
        "pool = connections['default'].pool\n"
        "assert connections['default'].connection is None\n"
        "assert pool is None or pool.closed, 'pool opened at import'\n"
        "assert not cache.client._clients or not any(cache.client._clients), 'Redis client made at import'\n"
        "print('clean')\n"
    )
    env = production_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres", REDIS_URL="redis://127.0.0.1:6379/9"
    )

    result = run([sys.executable, "-c", code], env)

    assert gunicorn_config()["preload_app"] == "True"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


FREEZE_PROBE = """
import gc


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(gc.get_freeze_count()).encode()]
"""


def test_gunicorn_workers_start_with_what_the_master_imported_frozen(tmp_path):
    """gc.freeze before each fork (pre_fork): a worker's full collections skip everything the master preloaded."""
    (tmp_path / "freeze_probe.py").write_text(FREEZE_PROBE)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = production_env(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    command = [str(GUNICORN), "-c", "gunicorn.conf.py", "--pythonpath", str(tmp_path), "freeze_probe:application"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    frozen = int(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(30)

    assert frozen > 10_000  # gunicorn, the config and the probe app: every object the master held at the fork


def test_gunicorn_balances_connections_with_a_socket_per_worker_unless_unix_or_recycling():
    assert gunicorn_config()["reuse_port"] == "True"
    assert gunicorn_config()["max_requests"] == "0"
    assert gunicorn_config(GUNICORN_BIND="unix:/run/bazar.sock")["reuse_port"] == "False"
    # A recycled worker would drop the connections queued on its own socket.
    assert gunicorn_config(GUNICORN_MAX_REQUESTS="10000")["reuse_port"] == "False"


def test_reads_are_cached_only_with_a_cache_every_process_shares():
    code = "from django.conf import settings; print(settings.CACHE_READS)"
    without_redis = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], production_env())
    with_redis = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        production_env(REDIS_URL="redis://127.0.0.1:6379/9"),
    )

    # Local memory is per worker: a cached user would not hear of a block made in another process.
    assert without_redis.stdout.strip() == "False", without_redis.stderr
    assert with_redis.stdout.strip() == "True", with_redis.stderr


def test_gunicorn_logs_to_stdout_with_the_request_id_in_the_access_line():
    config = gunicorn_config(GUNICORN_TIMEOUT="45", GUNICORN_ACCESS_LOG="true")

    assert config["timeout"] == "45"
    assert config["accesslog"] == "-"
    assert "%({x-request-id}o)s" in config["access_log_format"]
    # No query string (%(q)s, %(r)s) and no request header (…i) may reach the access line: tokens travel there.
    assert not re.search(r"%\((q|r|\{[\w-]+\}i)\)s", config["access_log_format"])
    assert "'stream': 'ext://sys.stdout'" in config["logconfig_dict"]


def test_gunicorn_loads_the_app_with_the_dockerfile_command():
    command = dockerfile_instruction_json("CMD")

    result = run([str(GUNICORN), *command[1:], "--check-config"], production_env())

    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- Dockerfile
def test_dockerfile_builds_in_stages_on_python_slim_and_runs_as_a_numeric_non_root_user():
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", DOCKERFILE, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)

    assert [name for _, name in stages] == ["build", "runtime"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.13-slim$", DOCKERFILE, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert "pip install --no-cache-dir -r /tmp/requirements/prod.txt" in DOCKERFILE


def test_dockerfile_keeps_no_secret_in_the_image_environment():
    env_and_args = re.findall(r"^(?:ENV|ARG)\b.*?(?<!\\)$", DOCKERFILE, re.MULTILINE | re.DOTALL)

    assert env_and_args
    assert not any(re.search(r"SECRET|PASSWORD|TOKEN|API_KEY", block) for block in env_and_args)
    # collectstatic gets its throwaway key inline, for that one command only.
    assert re.search(r"^RUN SECRET_KEY=\S+ .*collectstatic", DOCKERFILE.replace("\\\n", " "), re.MULTILINE)


def test_dockerfile_healthcheck_probes_the_health_endpoint_with_python():
    command = dockerfile_instruction_json("HEALTHCHECK")

    assert command[:2] == ["python", "-c"]
    assert "/api/v1/health/" in command[2]
    compile(command[2], "<healthcheck>", "exec")


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".env", ".git", ".venv", "db.sqlite3", "media"} <= set(ignored)


# ---------------------------------------------------------------- docker-compose.yml
def test_compose_web_and_worker_wait_for_the_one_shot_migrate():
    services = COMPOSE["services"]

    assert "migrate" in services["migrate"]["command"][-1]
    assert "ensure_superadmin" in services["migrate"]["command"][-1]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["web"]["command"] == dockerfile_instruction_json("CMD")
    assert services["worker"]["command"][:3] == ["python", "manage.py", "db_worker"]


def test_compose_web_publishes_no_fixed_host_port_so_it_scales():
    for port in COMPOSE["services"]["web"].get("ports", []):
        assert isinstance(port, dict), "long syntax only, so no fixed host port slips in"
        assert "published" not in port


def test_compose_postgres_is_16_or_newer_with_a_named_volume_and_a_healthcheck():
    postgres = COMPOSE["services"]["postgres"]
    major = int(re.match(r"postgres:(\d+)", postgres["image"]).group(1))
    volume = postgres["volumes"][0].split(":")[0]

    assert major >= 16
    assert volume in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "redis-cli" in COMPOSE["services"]["redis"]["healthcheck"]["test"]


def test_compose_app_services_share_env_file_media_volume_and_database_task_backend():
    for name in ("migrate", "web", "worker"):
        service = COMPOSE["services"][name]
        assert service["env_file"][0]["path"] == ".env"
        assert service["environment"]["TASKS_BACKEND"] == "django_tasks_db.DatabaseBackend"
        assert "media:/app/media" in service["volumes"]
    assert "media" in COMPOSE["volumes"]
    # Only gunicorn answers the image's HTTP health check.
    assert COMPOSE["services"]["worker"]["healthcheck"] == {"disable": True}


def test_compose_variables_are_documented_in_env_example():
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))

    assert used
    assert used <= env_example_keys()


# ---------------------------------------------------------------- .env.example
def test_env_example_documents_every_variable_the_project_reads():
    sources = [ROOT / "bazar" / "settings.py", ROOT / "gunicorn.conf.py"]
    read = set()
    for source in sources:
        text = source.read_text()
        read |= set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
        read |= set(re.findall(r"_env_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
        read |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", text))

    assert {"SECRET_KEY", "DATABASE_URL", "WEB_CONCURRENCY"} <= read
    assert sorted(read - env_example_keys()) == []


# ---------------------------------------------------------------- production settings in requests
def test_api_docs_load_no_inline_script_so_the_csp_allows_them(db, client):
    page = client.get(reverse("swagger-ui"))

    assert page.status_code == 200
    assert "script-src 'self'" in page["Content-Security-Policy"]
    html = page.content.decode()
    assert "<script>" not in html
    init_script = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(init_script)
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle" in script.content.decode()


def test_cors_answers_listed_origins_on_the_api_only(db, client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = {
        "HTTP_ORIGIN": "https://app.example.com",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type, idempotency-key, x-request-id",
    }

    api = client.options(reverse("api:auth:login"), **preflight)
    admin = client.options("/admin/login/", **preflight)
    stranger = client.options(reverse("api:auth:login"), **{**preflight, "HTTP_ORIGIN": "https://evil.example"})

    assert api["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "idempotency-key" in api["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in api
    assert "Access-Control-Allow-Origin" not in admin
    assert "Access-Control-Allow-Origin" not in stranger


def test_cors_exposes_the_request_id_to_browsers(db, client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = client.get(reverse("api:health"), HTTP_ORIGIN="https://app.example.com")

    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]
    assert response["X-Request-ID"]


def test_proxy_ssl_header_is_configurable():
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    env = production_env(SECURE_PROXY_SSL="true", SECURE_PROXY_SSL_HEADER_NAME="X-Forwarded-Scheme")

    on = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], env)
    off = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], production_env())

    assert on.stdout.strip() == "('HTTP_X_FORWARDED_SCHEME', 'https')", on.stderr
    assert off.stdout.strip() == "None", off.stderr
