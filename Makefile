# Bazar: every command a developer or operator needs. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
# Development defaults for `make run` only; production reads everything from the environment.
DEV_ENV := DEBUG=true SECURE_SSL_REDIRECT=false \
	SUPERUSER_EMAIL=$${SUPERUSER_EMAIL:-admin@bazar.local} SUPERUSER_PASSWORD=$${SUPERUSER_PASSWORD:-bazar-admin-dev}

.DEFAULT_GOAL := help
.PHONY: help venv run test lint format check migrations-check ci superadmin worker \
	db-migrate db-rollback db-status db-create db-create-empty db-history db-show db-sql db-reset

help: ## List the commands
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/base.txt requirements/dev.txt requirements/prod.txt
	@test -x $(PY) || $$(scripts/find_python.sh) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -r requirements/prod.txt
	@touch $@

venv: $(VENV)/.installed ## Create .venv with a Python >= 3.12 and install the requirements

run: venv ## Set up and serve the API on the embedded default (SQLite, local cache) at 127.0.0.1:8000
	$(DEV_ENV) $(MANAGE) migrate --noinput
	@$(DEV_ENV) $(MANAGE) ensure_superadmin
	@echo "Admin: http://$(HOST):$(PORT)/admin/  API docs: http://$(HOST):$(PORT)/api/docs/"
	@$(DEV_ENV) bash -c 'echo "Log in as $$SUPERUSER_EMAIL with password $$SUPERUSER_PASSWORD (set SUPERUSER_EMAIL/SUPERUSER_PASSWORD to choose)."'
	$(DEV_ENV) $(MANAGE) runserver $(HOST):$(PORT)

test: venv ## Run the test suite (SQLite + local cache; set DATABASE_URL / REDIS_URL for PostgreSQL + Redis)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## Ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## Ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: venv ## Django system checks and the migrations check
	DEBUG=true $(MANAGE) check
	DEBUG=true $(MANAGE) makemigrations --check --dry-run

ci: ## What CI runs
	bash .ci/run

superadmin: venv ## Create or refresh the superadmin from SUPERUSER_EMAIL / SUPERUSER_PASSWORD
	$(MANAGE) ensure_superadmin

worker: venv ## Run the task worker (with TASKS_BACKEND=django_tasks_db.DatabaseBackend)
	$(MANAGE) db_worker

# Database shortcuts, mirroring the Albedo seed's db-* targets, mapped to manage.py.
APP ?=
NAME ?=
REVISION ?=
db-migrate: venv ## Apply migrations (APP=… REVISION=… to target one migration)
	$(MANAGE) migrate $(APP) $(REVISION)
db-rollback: venv ## Roll APP back to REVISION (e.g. make db-rollback APP=accounts REVISION=0001)
	@test -n "$(APP)" && test -n "$(REVISION)" || { echo "usage: make db-rollback APP=<app> REVISION=<migration|zero>"; exit 2; }
	$(MANAGE) migrate $(APP) $(REVISION)
db-status: venv ## Show which migrations are applied
	$(MANAGE) showmigrations $(APP)
db-create: venv ## Create migrations from model changes (NAME="describe it", APP=…)
	$(MANAGE) makemigrations $(APP) $(if $(NAME),--name "$(subst $() ,_,$(NAME))")
db-create-empty: venv ## Create an empty migration for hand-written operations (APP=… NAME=…)
	@test -n "$(APP)" || { echo "usage: make db-create-empty APP=<app> NAME=<name>"; exit 2; }
	$(MANAGE) makemigrations $(APP) --empty $(if $(NAME),--name "$(subst $() ,_,$(NAME))")
db-history: venv ## List migrations in the order they apply
	$(MANAGE) showmigrations --plan
db-show: venv ## Print one migration's SQL (APP=… REVISION=…)
	$(MANAGE) sqlmigrate $(APP) $(REVISION)
db-sql: db-show ## Alias of db-show
db-reset: venv ## Roll every app back to zero and migrate again (destroys data)
	for app in assistants organizations accounts; do $(MANAGE) migrate $$app zero --noinput; done
	$(MANAGE) migrate --noinput

.PHONY: bench
bench: venv ## Benchmark as production serves (PostgreSQL, Redis, gunicorn) vs a bare-WSGI ceiling; writes docs/benchmarks.md (BENCH_DURATION=5s: quick)
	$(PY) scripts/bench/run.py

.PHONY: serve-prod
serve-prod: venv ## Serve as the container does: collectstatic, then gunicorn with gunicorn.conf.py (set SECRET_KEY, ALLOWED_HOSTS)
	$(MANAGE) collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" gunicorn --config gunicorn.conf.py bazar.wsgi:application
