# The two commands of the README: `make run` and `make test`. Each creates .venv and installs
# what it needs by itself. Django 6 needs Python 3.12 or newer; the first one found is used.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.14 \
	$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3) python3; do \
	  if command -v $$p >/dev/null 2>&1 && \
	     $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Python 3.12 or newer is needed (tried python3.13, python3.12, python3)."; \
	  echo "       Install one, or run: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# DEBUG (error pages showing code and settings) only while the platform listens on this machine
# alone; `make run HOST=0.0.0.0` serves other machines with DEBUG off and says so.
LOOPBACK := 127.0.0.1 localhost ::1 [::1]

run: $(STAMP)
	@$(BIN)/python manage.py migrate --noinput
	@$(BIN)/python manage.py demo_data --url http://$(HOST):$(PORT)/
	@if echo " $(LOOPBACK) " | grep -qF " $(HOST) "; then \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT); \
	else \
	  hosts="$${ALLOWED_HOSTS:-$$(hostname),$$(hostname -I 2>/dev/null | tr -s ' ' ',')localhost,127.0.0.1}"; \
	  echo "Serving on $(HOST): other machines can reach it, so DEBUG is off."; \
	  echo "Accepted host names: $$hosts (set ALLOWED_HOSTS to change them)."; \
	  DEBUG=false ALLOWED_HOSTS="$$hosts" $(BIN)/python manage.py runserver $(HOST):$(PORT); \
	fi

test: $(STAMP)
	@env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest
	@env -u DATABASE_URL -u REDIS_URL DJANGO_ALLOW_ASYNC_UNSAFE=true \
	  $(BIN)/python -m pytest -m browser tests/browser

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports
	@$(BIN)/mypy

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .test-db.sqlite3* staticfiles .pytest_cache
