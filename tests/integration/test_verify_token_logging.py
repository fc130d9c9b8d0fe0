"""The webhook verify token never reaches a request log: Meta's handshake is a GET with
?hub.verify_token=<secret>, and both the development server (werkzeug) and gunicorn's access
log write the request line with its query string."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import Logger as GunicornLogger
from werkzeug.serving import make_server

TOKEN = "s3cr3t-Verify-T0ken"
PATH = "/api/webhooks/whatsapp"
QUERIES = [
    f"hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=42",
    f"hub.challenge=42&hub.verify_token={TOKEN}",
    f"hub%2Everify_token={TOKEN}&hub.mode=subscribe",
    f"hub.verify_token={TOKEN}%22%20{TOKEN}&hub.mode=subscribe",  # a quote and a space in it
]


def test_the_development_server_log_never_shows_the_token(clean_app, caplog):
    server = make_server("127.0.0.1", 0, clean_app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        for query in QUERIES:
            url = f"http://127.0.0.1:{server.port}{PATH}?{query}"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url, timeout=10)
            assert refused.value.code == 403  # an unknown token: the line is logged all the same
    finally:
        server.shutdown()
        thread.join(10)
    lines = [
        r.getMessage() for r in caplog.records if r.name == "werkzeug" and PATH in r.getMessage()
    ]
    assert len(lines) == len(QUERIES), caplog.text
    for line in lines:
        assert "verify_token=[redacted]" in line, line
        assert " 403 " in line  # the rest of the line is kept
    assert TOKEN not in caplog.text, caplog.text


@pytest.fixture
def gunicorn_access_log(clean_app, tmp_path):
    """gunicorn's logger, set up as `gunicorn --access-logfile <file>` does (after the app,
    which installed the filter, was created by clean_app); yields it and the file."""
    config = GunicornConfig()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = GunicornLogger(config)
    yield logger, tmp_path / "access.log"
    for log in (logger.access_log, logger.error_log):
        for handler in list(log.handlers):
            if getattr(handler, "_gunicorn", False):
                handler.close()
                log.removeHandler(handler)


def test_gunicorns_access_log_never_shows_the_token(gunicorn_access_log):
    logger, path = gunicorn_access_log
    response = SimpleNamespace(status="200 OK", sent=2, headers=[("Content-Type", "text/plain")])
    for query in QUERIES:
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": f"{PATH}?{query}",
            "PATH_INFO": PATH,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "198.51.100.7",
        }
        request = SimpleNamespace(headers=[("User-Agent", "facebookexternalua")])
        logger.access(response, request, environ, timedelta(milliseconds=3))
    written = path.read_text()
    lines = [line for line in written.splitlines() if PATH in line]
    assert len(lines) == len(QUERIES), written
    for line in lines:
        assert "verify_token=[redacted]" in line and "198.51.100.7" in line, line
    assert TOKEN not in written, written
