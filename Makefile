# Drip: `make run` starts the app on the embedded defaults, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install install-dev chromium node-tools run test lint format

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Two stamps: requirements.txt (what the app needs to run) and requirements-dev.txt (it plus the
# test and lint tools). A venv made by `make run` gets the dev tools on the first `make test`.
$(VENV)/.installed-run: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# requirements-dev.txt includes requirements.txt, so this install also satisfies the run stamp.
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed-run $@

install: $(VENV)/.installed-run

install-dev: $(VENV)/.installed-dev

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

# The browser tests' axe-core (accessibility checks), pinned by package-lock.json: `npm ci`
# installs exactly that. Node and npm come from Debian when missing, as Chromium does.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing Debian's nodejs and npm"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-tools: node_modules/.installed

# lint-imports: import-linter, with the contracts in pyproject.toml.
test: install-dev chromium node-tools
	$(BIN)/ruff check .
	PYTHONPATH=. $(BIN)/lint-imports
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -n 2

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
