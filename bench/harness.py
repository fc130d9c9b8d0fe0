"""What the benchmarks that run real processes share: free ports, gunicorn serving the app (with
a readiness check), the fake Cloud API in its own process, peak RSS from /proc, percentiles.

Used by bench/webhook_ingest.py, bench/send_throughput.py and bench/load.py.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int, seconds: float = 30, process: subprocess.Popen | None = None, what: str = "server"
) -> None:
    """Until something accepts connections on the port (or the process died)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start listening on port {port} in {seconds:.0f} s")


# --- gunicorn --------------------------------------------------------------------------------


@dataclass
class WebServer:
    process: subprocess.Popen
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def peak_rss_mb(self) -> dict:
        """Peak RSS of each worker and of the master (read before stopping it)."""
        return {
            "workers": [peak_rss_mb(pid) for pid in self.worker_pids()],
            "master": peak_rss_mb(self.process.pid),
        }


def _ready(port: int, requests: int) -> None:
    """A few answered requests, so that workers have their database connections."""
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/openapi.json")
        conn.getresponse().read()
        conn.close()


@contextmanager
def gunicorn(
    database_url: str, secret_key: str, workers: int = 4, env: dict | None = None
) -> Iterator[WebServer]:
    """gunicorn serving the app (sync workers, the app imported once before the fork), ready
    when this yields; stopped (SIGTERM) on exit. No REDIS_URL: the routes benchmarked do not
    use Redis."""
    port = free_port()
    environ = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key, **(env or {})}
    environ.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            # The app is imported once, before the fork: no worker is still importing (plotly,
            # scipy...) when the clock starts. wsgi.py, as in production: it also freezes the
            # app's objects out of the garbage collector's reach (gc.freeze).
            "--preload",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=environ,
    )
    try:
        wait_for_port(port, 60, process, "gunicorn")
        _ready(port, requests=2 * workers)
        yield WebServer(process, port)
    finally:
        stop_process(process, 30)


async def http_exchange(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a connection of its own (Connection: close, as gunicorn's sync
    workers answer anyway): (status, body). A load generator's client: no connection pool to
    queue in, nothing shared between requests, so thousands in flight cost it little."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        head += f"Content-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    answer_head, _, content = rest.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in answer_head.lower():
        content = _dechunk(content)
    return int(status_line.split(b" ", 2)[1]), content


def _dechunk(data: bytes) -> bytes:
    out, at = [], 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        at = end + 2 + size + 2


# --- the fake Cloud API ------------------------------------------------------------------------


@dataclass
class FakeServer:
    process: subprocess.Popen
    base_url: str


@contextmanager
def fake_cloud_api(token: str, latency_ms: float = 0) -> Iterator[FakeServer]:
    """`python -m tests.fakes.cloud_api` in its own process, listening when this yields."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.cloud_api",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--token",
            token,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, 30, process, "the fake Cloud API")
        yield FakeServer(process, base)
    finally:
        stop_process(process, 10)


def fake_control(base: str, body: dict | None = None, path: str = "/_control") -> dict:
    """POST a steering command to the fake, or GET one of its read endpoints (no body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def fake_stats(base: str, detail: bool = False) -> dict:
    return fake_control(base, path="/_stats" if detail else "/_stats?detail=0")


# --- processes and figures ------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def peak_rss_mb(pid: int) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of the values, nearest rank; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
