# Drip: `make run` starts the app on the embedded defaults, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install chromium run test lint format

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# EMBEDDED_WORKER: without REDIS_URL, the web process also runs the recurring jobs.
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Drip is starting on http://127.0.0.1:5000"
	EMBEDDED_WORKER=1 $(FLASK) run --host 127.0.0.1 --port 5000

# Debian's Chromium: the chart image export (kaleido) and the browser tests drive it.
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

test: install chromium
	$(BIN)/ruff check .
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
