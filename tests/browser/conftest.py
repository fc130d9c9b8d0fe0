"""Browser tests: the real app in its own server process and Debian's Chromium driven by
Playwright. Reusable for end-to-end flows:

    pytestmark = pytest.mark.browser

    def test_something(logged_in_page, live_server):
        page = logged_in_page            # the demo user, logged in, problems collected
        page.goto("/campaigns/")         # paths are relative to live_server.url
        ...
        assert_no_problems(page)         # no console error, page error or CSP violation

Fixtures:
- `live_server` (session): `flask run` on a free port with a temporary SQLite database, built
  by the migrations and `seed-demo` (seeded once per run and copied to each xdist worker);
  CSRF, cookies and headers as in production. `live_server.app()` gives a Flask app on the
  same database to arrange or check rows directly.
- `browser` (module): Chromium; the tests skip cleanly when Playwright or /usr/bin/chromium is
  missing.
- `page` (per test): a fresh context (no cookies) on the server; console errors, uncaught
  page errors, failed responses (>= 400) and CSP violations are collected in
  `page.problems`; on failure a screenshot goes to tests/browser/artifacts/.
- `logged_in_page`: `page`, logged in as the demo user through the login form.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app import create_app
from app.config import Config
from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("BROWSER_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_EMAIL = "demo@drip.example"
DEMO_PASSWORD = "drip-demo-2026"
START_TIMEOUT = 60.0
SECRET_KEY = "browser-tests-" + "x" * 32  # sessions only live as long as the run
CRON_SECRET = "browser-tests-cron-" + "y" * 16  # flows run a processing pass through the endpoint
# Collected in every page before its own scripts run (init scripts are not subject to the CSP).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


def pytest_collection_modifyitems(items):
    # Everything under tests/browser is a browser test, marked or not.
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database_url: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
    for name in ("REDIS_URL", "CRON_SECRET", "EMBEDDED_WORKER", "SESSION_COOKIE_SECURE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secret_key,
        CRON_SECRET=CRON_SECRET,
        # The fake Cloud API (tests/browser/support.py) listens on this machine.
        WHATSAPP_API_ALLOWED_HOSTS="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def seeded_database(tmp_path_factory) -> Path:
    """The demo database, made once per run: xdist workers share the run's temporary directory
    (its parent), and a lock lets the first one build it while the others wait."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    seeded = shared / "browser-demo.db"
    with open(shared / "browser-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not seeded.exists():
            building = shared / "browser-demo-building.db"
            env = server_environment(f"sqlite:///{building}", SECRET_KEY)
            for command in (("db", "upgrade"), ("seed-demo",)):
                done = subprocess.run(
                    flask_command(*command),
                    check=False,
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    pytest.fail(f"flask {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
            _copy_sqlite(building, seeded)
    return seeded


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy (WAL included), written under another name and then renamed."""
    partial = target.with_suffix(".partial")
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    partial.replace(target)


@dataclass
class LiveServer:
    url: str
    database_url: str
    secret_key: str
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def app(self):
        """A Flask app on the server's database, for arranging or checking rows."""
        return create_app(Config(database_url=self.database_url, secret_key=self.secret_key))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the app server exited ({server.process.returncode}):\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"the app server did not answer within {START_TIMEOUT:.0f} s:\n{server.log()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("live-server")
    database = workdir / "drip.db"
    _copy_sqlite(seeded_database(tmp_path_factory), database)
    port, secret_key = free_port(), SECRET_KEY
    database_url = f"sqlite:///{database}"
    log_path = workdir / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            flask_command("run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"),
            cwd=ROOT,
            env=server_environment(database_url, secret_key),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, secret_key, log_path, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        stop_process(process, 10)


# --- the browser ----------------------------------------------------------------------------


# Per module, not per session: Playwright's sync API keeps an event loop running on this
# thread while it is started, and the asyncio code of later tests in the same process (the
# fake Cloud API) could not run beside it. Pytest stops it before a test of another module.
@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (make chromium installs Debian's)")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.problems = problems = []

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_response(response):
        if response.status >= 400:
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("response", on_response)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.log").write_text("\n".join(problems) + "\n\n" + live_server.log())
    context.close()


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def assert_no_problems(page, where: str = "") -> None:
    """No console error, uncaught error, failed response or CSP violation so far."""
    problems = [*page.problems, *(f"CSP: {v}" for v in csp_violations(page))]
    assert problems == [], f"{where or page.url}: {problems}"


def log_in(page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/campaigns/?$"))


@pytest.fixture
def logged_in_page(page):
    log_in(page)
    return page
