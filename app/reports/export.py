"""Server-side PNG and SVG of Plotly figures through kaleido and the system's Chromium.

The builders (app.reports.charts, app.reports.ab_charts) make plain figure dicts; an export
wraps one in go.Figure first, so Plotly validates it (an invalid property raises ValueError)
before the browser sees it.

Starting Chromium takes seconds, so each process keeps one browser warm: a daemon thread runs
an asyncio loop that owns a kaleido.Kaleido, and request threads hand it renders with
run_coroutine_threadsafe and wait a bounded time. A render that times out or fails takes the
browser down with it; the next export starts a fresh one.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

import kaleido
import plotly.graph_objects as go
from choreographer.browsers.chromium import Chromium

log = logging.getLogger(__name__)

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
WIDTH, HEIGHT = 1100, 640
# A warm Chromium holds a few hundred MB: an idle one is closed, the next export restarts it.
IDLE_SECONDS = 600.0
MISSING_BROWSER = (
    "Image export needs Chromium on the server: install the chromium package "
    "or set CHART_BROWSER_PATH to the browser's path."
)
TIMED_OUT = "Image export timed out on the server. Please try again in a moment."
FAILED = "Image export failed on the server. Please try again in a moment."
START_FAILED = (
    "Image export could not start Chromium on the server. Please try again in a moment; "
    "if it keeps failing, check CHART_BROWSER_PATH."
)


class ExportUnavailable(Exception):
    """The server cannot render an image now; the message is meant for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Choreographer 1.x starts every Chromium with these (choreographer/browsers/chromium.py,
# Chromium.get_cli, with no option to leave them out): same-origin policy off, and file://
# pages allowed to read any local file. Kaleido needs neither: its page is a file:// index
# whose <script src="file://..."> tags (plotly.js, kaleido_scopes.js) load without them, and
# the figure arrives as JSON over the DevTools pipe. Without them, a page that did go wrong
# could not read local files or other origins' answers.
UNSAFE_FLAGS = frozenset({"--disable-web-security", "--allow-file-access-from-files"})


class _Chromium(Chromium):
    """Choreographer's Chromium (already headless, --no-sandbox, --disable-gpu) without its
    unsafe flags, and with background networking off: a render needs no network and a server
    should not phone out."""

    def get_cli(self):
        cli = [arg for arg in super().get_cli() if arg not in UNSAFE_FLAGS]
        return [*cli, "--disable-background-networking"]


class ChartExporter:
    """One warm kaleido browser for this process; export() is safe from any thread."""

    def __init__(self, browser_path: str, timeout: float, idle: float = IDLE_SECONDS):
        self.browser_path = browser_path
        self.timeout = timeout
        self.idle = idle
        self._last_used = 0.0
        self._idle_timer: threading.Timer | None = None
        self._lock = threading.Lock()  # one start or stop at a time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: kaleido.Kaleido | None = None
        self._opening: kaleido.Kaleido | None = None  # until open() returns, for stop()
        self._pid = 0

    def export(
        self, figure: dict | go.Figure, fmt: str, width: int = WIDTH, height: int = HEIGHT
    ) -> bytes:
        """The figure (a figure dict or a go.Figure) as PNG or SVG bytes, or
        ExportUnavailable; ValueError for an unknown format or an invalid figure."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown image format {fmt!r}")
        if not isinstance(figure, go.Figure):
            figure = go.Figure(figure)  # validates: a bad property raises here, not in Chromium
        browser = self._started()
        opts = {"format": fmt, "width": width, "height": height, "scale": 2 if fmt == "png" else 1}
        self._last_used = time.monotonic()
        try:
            image = self._run(browser.calc_fig(figure, opts=opts))
        except TimeoutError:
            log.warning("chart export took over %ss; restarting the browser", self.timeout)
            self.stop(graceful=False)
            raise ExportUnavailable(TIMED_OUT) from None
        except Exception:
            log.exception("chart export failed; restarting the browser")
            self.stop(graceful=False)
            raise ExportUnavailable(FAILED) from None
        self._last_used = time.monotonic()
        return image

    def is_warm(self) -> bool:
        return self._kaleido is not None and self._pid == os.getpid()

    def _started(self) -> kaleido.Kaleido:
        with self._lock:
            if self._pid != os.getpid():
                # Forked (gunicorn --preload): the parent's loop thread does not exist here,
                # and its browser is the parent's to close.
                self._loop = self._thread = self._kaleido = self._idle_timer = None
                self._pid = os.getpid()
            if self._kaleido is not None:
                return self._kaleido
            if not (os.path.isfile(self.browser_path) and os.access(self.browser_path, os.X_OK)):
                raise ExportUnavailable(MISSING_BROWSER)
            self._start_loop()
            try:
                self._kaleido = self._run(self._open())
            except Exception as exc:
                log.error("could not start Chromium at %s: %r", self.browser_path, exc)
                self._stop_locked(graceful=False)
                raise ExportUnavailable(START_FAILED) from None
            self._last_used = time.monotonic()
            self._check_idle_in(self.idle)
            return self._kaleido

    def _check_idle_in(self, delay: float) -> None:
        timer = threading.Timer(delay, self._stop_if_idle)
        timer.daemon = True
        timer.start()
        self._idle_timer = timer

    def _stop_if_idle(self) -> None:
        with self._lock:
            if self._kaleido is None or self._pid != os.getpid():
                return
            remaining = self._last_used + self.idle - time.monotonic()
            if remaining > 0:
                self._check_idle_in(remaining)
                return
            log.info("closing the chart-export browser after %ss idle", self.idle)
            self._stop_locked()

    async def _open(self) -> kaleido.Kaleido:
        browser = kaleido.Kaleido(
            path=self.browser_path,
            browser_cls=_Chromium,
            timeout=self.timeout,
            # MathJax would come from a CDN; our figures have no LaTeX. plotly.js is the
            # installed package's file (kaleido's default), not a CDN.
            mathjax=False,
        )
        self._opening = browser
        await browser.open()
        return browser

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="chart-export", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

    def _run(self, coroutine):
        """Run a coroutine on the browser's loop; TimeoutError after self.timeout."""
        loop = self._loop
        if loop is None:  # stopped (idle or failed) since the caller took the browser
            coroutine.close()
            raise ExportUnavailable(FAILED)
        # wait_for cancels the work inside the loop (and collects its exception); the outer
        # bound holds even if that cancellation itself hangs.
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, self.timeout), loop)
        try:
            return future.result(self.timeout + 5)
        except FutureTimeout:
            future.cancel()
            raise

    def stop(self, graceful: bool = True) -> None:
        """Close the browser and its loop (at exit, and after a failed render)."""
        with self._lock:
            if self._pid == os.getpid():
                self._stop_locked(graceful)

    def _stop_locked(self, graceful: bool = True) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        browser = self._kaleido or self._opening
        loop, thread = self._loop, self._thread
        self._kaleido = self._loop = self._thread = self._opening = None
        if loop is None:
            return
        if browser is not None:
            if not graceful:
                _kill(browser)  # a hung browser would make close() wait its full bound
            try:
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(10)
            except Exception as exc:
                log.warning("Chromium did not close cleanly (%r); killing it", exc)
            _kill(browser)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)


def _kill(browser: kaleido.Kaleido) -> None:
    # Choreographer starts the browser in its own session: its group is the browser and its
    # helpers, and none of them may outlive a close that hung.
    process = getattr(browser, "subprocess", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait(5)


_exporters: dict[tuple[str, float], ChartExporter] = {}
_exporters_lock = threading.Lock()


def exporter(browser_path: str, timeout: float) -> ChartExporter:
    """The process's exporter for this browser (created on first use, closed at exit)."""
    key = (browser_path, timeout)
    with _exporters_lock:
        if key not in _exporters:
            _exporters[key] = ChartExporter(browser_path, timeout)
            atexit.register(_exporters[key].stop)
        return _exporters[key]


def to_image(figure: dict | go.Figure, fmt: str, browser_path: str, timeout: float) -> bytes:
    """PNG or SVG bytes of a figure (dict or go.Figure), rendered by this process's warm
    browser."""
    return exporter(browser_path, timeout).export(figure, fmt)
