"""gunicorn config for bench/load.py: each sync worker adds up the CPU time its requests use,
by kind (a webhook delivery or a page), and keeps the sums in a small file of its own.

    GUNICORN_CMD_ARGS="--config bench/load_cpu.py" LOAD_CPU_DIR=/tmp/dir gunicorn ...

A sync worker serves one request at a time in one thread, so the process's CPU time between
pre_request and post_request (which runs after the answer is written) is that request's.
The file holds "webhook_ms webhook_requests page_ms page_requests", overwritten in place after
each request (one pwrite: a few microseconds), so it can be read at any moment.
"""

from __future__ import annotations

import os
import time

_state: dict = {"fd": None, "started": 0.0, "sums": [0.0, 0, 0.0, 0]}


def _kind(path: str) -> int:
    return 0 if path.startswith("/api/webhooks") else 2


def pre_request(worker, req) -> None:
    _state["started"] = time.process_time()


def post_request(worker, req, environ, resp) -> None:
    used = time.process_time() - _state["started"]
    sums = _state["sums"]
    at = _kind(req.path)
    sums[at] += used * 1000
    sums[at + 1] += 1
    if _state["fd"] is None:
        path = os.path.join(os.environ["LOAD_CPU_DIR"], f"{os.getpid()}.cpu")
        _state["fd"] = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    line = f"{sums[0]:.3f} {sums[1]} {sums[2]:.3f} {sums[3]}".ljust(80) + "\n"
    os.pwrite(_state["fd"], line.encode(), 0)


def read_sums(directory: str) -> dict[str, float]:
    """The sums of every worker: {"webhook_ms", "webhook_requests", "page_ms", "page_requests"}."""
    total = [0.0, 0.0, 0.0, 0.0]
    for name in os.listdir(directory):
        try:
            with open(os.path.join(directory, name)) as file:
                values = [float(v) for v in file.read().split()]
        except (OSError, ValueError):
            continue
        if len(values) == 4:
            total = [a + b for a, b in zip(total, values, strict=True)]
    keys = ("webhook_ms", "webhook_requests", "page_ms", "page_requests")
    return dict(zip(keys, total, strict=True))
