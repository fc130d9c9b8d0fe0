"""Settings, read from the environment when create_app() runs (never at import time)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def normalize_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for a plain PostgreSQL URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_or_create_secret_key(instance_path: Path) -> str:
    """Return the key kept under instance/, creating it once so sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _positive(name: str, value: str | None, default: float) -> float:
    """A number above zero: 0 would end every session at once, so it stops the start."""
    number = float(value or default)
    if not number > 0:
        raise ValueError(f"{name} must be a number above 0, not {value!r}")
    return number


def _positive_int(name: str, value: str | None, default: int) -> int:
    """A whole number of at least 1, else the start stops with the setting's name."""
    try:
        number = int(value or default)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return number


_HOST_ENTRY = re.compile(r"(?:\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(?P<port>[0-9]{1,5}))?")


def parse_allowed_hosts(value: str | None) -> tuple[str, ...]:
    """WHATSAPP_API_ALLOWED_HOSTS: comma-separated `host` or `host:port` (IPv6 in brackets),
    lower-cased; a typo stops the start rather than silently refusing every send."""
    entries = []
    for raw in (value or "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        match = _HOST_ENTRY.fullmatch(entry)
        if not match or int(match["port"] or 0) > 65535:
            raise ValueError(
                f"WHATSAPP_API_ALLOWED_HOSTS: {raw.strip()!r} is not a host or host:port"
            )
        entries.append(entry)
    return tuple(entries)


@dataclass
class Config:
    """Production and development settings; every field can come from the environment."""

    secret_key: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    cron_secret: str | None = None
    # Recurring jobs: how often a processing pass runs, how long message logs are kept, and
    # whether this process runs the jobs itself when there is no Redis (`make run` sets it).
    processor_interval_seconds: int = 30
    log_retention_days: int = 90
    embedded_worker: bool = False
    # Sending: messages claimed per batch, sends in flight per worker process, and how long to
    # wait for Meta's answer before the send counts as ambiguous (never resent).
    processor_batch_size: int = 200
    send_concurrency: int = 64
    # Processing passes that may run at once across all workers (each claims its own rows);
    # a pass that ends on its time budget with more due hands on to the next at once.
    processor_concurrent_passes: int = 1
    processor_hand_on: bool = True
    whatsapp_read_timeout: float = 15.0
    # Hosts besides https://graph.facebook.com that accounts' API base URLs may point at (a
    # local fake, a proxy): `host` allows any port of it, `host:port` that port only.
    whatsapp_api_allowed_hosts: tuple[str, ...] = ()
    # Prefix of Drip's own Redis keys (job locks, the cron leader), so installs can share a Redis.
    redis_key_prefix: str = "drip:"
    # Where this install is reached from outside: tracked short links are <base>/l/<code>.
    public_base_url: str = "http://127.0.0.1:5000"
    # Server-side chart images (PNG/SVG) render in this Chromium; a render slower than the
    # timeout answers 503 instead of holding the request.
    chart_browser_path: str = "/usr/bin/chromium"
    chart_export_timeout: float = 30.0
    # Login rate limiting: this many failed logins for one email from one client address (or
    # from one address, whatever the emails) within the window lock further attempts from there
    # out for the lock period; an email is never locked everywhere, but past login_max_failures
    # failures from anywhere each attempt for it waits (1 s, doubling up to
    # login_max_delay_seconds). 0 turns a limit off.
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window_minutes: int = 15
    login_lock_minutes: int = 15
    login_max_delay_seconds: float = 5.0
    # A browser session unused this long ends (server-side, whatever its cookies say).
    session_idle_hours: float = 12.0
    # Proxies in front of the app (an HTTPS terminator, a load balancer) whose X-Forwarded-For
    # and X-Forwarded-Proto headers are believed: the client's address (login limit per
    # address) and https come from them. 0: the headers are ignored (anyone could forge them).
    trusted_proxies: int = 0
    testing: bool = False
    csrf_enabled: bool = True
    session_cookie_secure: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            secret_key=env.get("SECRET_KEY") or None,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            cron_secret=env.get("CRON_SECRET") or None,
            processor_interval_seconds=int(env.get("PROCESSOR_INTERVAL_SECONDS") or 30),
            log_retention_days=int(env.get("LOG_RETENTION_DAYS") or 90),
            embedded_worker=_flag(env.get("EMBEDDED_WORKER")),
            processor_batch_size=int(env.get("PROCESSOR_BATCH_SIZE") or 200),
            send_concurrency=int(env.get("SEND_CONCURRENCY") or 64),
            processor_concurrent_passes=_positive_int(
                "PROCESSOR_CONCURRENT_PASSES", env.get("PROCESSOR_CONCURRENT_PASSES"), 1
            ),
            whatsapp_read_timeout=float(env.get("WHATSAPP_READ_TIMEOUT") or 15),
            whatsapp_api_allowed_hosts=parse_allowed_hosts(env.get("WHATSAPP_API_ALLOWED_HOSTS")),
            redis_key_prefix=env.get("REDIS_KEY_PREFIX") or "drip:",
            public_base_url=env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
            chart_browser_path=env.get("CHART_BROWSER_PATH") or "/usr/bin/chromium",
            chart_export_timeout=float(env.get("CHART_EXPORT_TIMEOUT") or 30),
            login_max_failures=int(env.get("LOGIN_MAX_FAILURES") or 5),
            login_max_failures_per_address=int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS") or 20),
            login_window_minutes=int(env.get("LOGIN_WINDOW_MINUTES") or 15),
            login_lock_minutes=int(env.get("LOGIN_LOCK_MINUTES") or 15),
            login_max_delay_seconds=float(env.get("LOGIN_MAX_DELAY_SECONDS") or 5),
            session_idle_hours=_positive("SESSION_IDLE_HOURS", env.get("SESSION_IDLE_HOURS"), 12),
            session_cookie_secure=_flag(env.get("SESSION_COOKIE_SECURE")),
            trusted_proxies=int(env.get("TRUSTED_PROXIES") or 0),
        )

    def flask_settings(self, instance_path: Path) -> dict:
        """The Flask config mapping this object stands for."""
        database_url = self.database_url or f"sqlite:///{instance_path / 'drip.db'}"
        settings = {
            "SECRET_KEY": self.secret_key or load_or_create_secret_key(instance_path),
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "REDIS_URL": self.redis_url,
            "CRON_SECRET": self.cron_secret,
            "PROCESSOR_INTERVAL_SECONDS": self.processor_interval_seconds,
            "LOG_RETENTION_DAYS": self.log_retention_days,
            "EMBEDDED_WORKER": self.embedded_worker,
            "PROCESSOR_BATCH_SIZE": self.processor_batch_size,
            "SEND_CONCURRENCY": self.send_concurrency,
            "PROCESSOR_CONCURRENT_PASSES": self.processor_concurrent_passes,
            "PROCESSOR_HAND_ON": self.processor_hand_on,
            "WHATSAPP_READ_TIMEOUT": self.whatsapp_read_timeout,
            "WHATSAPP_API_ALLOWED_HOSTS": self.whatsapp_api_allowed_hosts,
            "REDIS_KEY_PREFIX": self.redis_key_prefix,
            "PUBLIC_BASE_URL": self.public_base_url,
            "CHART_BROWSER_PATH": self.chart_browser_path,
            "CHART_EXPORT_TIMEOUT": self.chart_export_timeout,
            "LOGIN_MAX_FAILURES": self.login_max_failures,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": self.login_max_failures_per_address,
            "LOGIN_WINDOW_MINUTES": self.login_window_minutes,
            "LOGIN_LOCK_MINUTES": self.login_lock_minutes,
            "LOGIN_MAX_DELAY_SECONDS": self.login_max_delay_seconds,
            "SESSION_IDLE_HOURS": self.session_idle_hours,
            "TRUSTED_PROXIES": self.trusted_proxies,
            "TESTING": self.testing,
            "WTF_CSRF_ENABLED": self.csrf_enabled,
            # API clients send the token in a header; the HTML forms in a field.
            "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
            "WTF_CSRF_TIME_LIMIT": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.session_cookie_secure,
            "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        }
        settings.update(self.extra)
        return settings


@dataclass
class TestConfig(Config):
    """Settings for the test suite: explicit database, fixed key, no CSRF unless a test asks."""

    __test__ = False  # not a pytest test class

    secret_key: str | None = "test-secret-key-not-for-production"
    testing: bool = True
    csrf_enabled: bool = False
    # Tests run their passes one at a time, on a clock of their own: no pass starts behind
    # their back (tests/integration/test_pass_hand_on.py turns it on).
    processor_hand_on: bool = False
    # The fake Cloud API (tests/fakes/cloud_api.py) listens on this machine.
    whatsapp_api_allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
