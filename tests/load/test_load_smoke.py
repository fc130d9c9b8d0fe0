"""The load benchmark in its short form (issue 9): `bench/load.py --seconds 10` at a tenth of
the target rates, on PostgreSQL (TEST_DATABASE_URL), run as its own process.

It checks what must hold however slow the machine is: exit status 0, no failed request, no
webhook event or message lost or sent twice (the benchmark's reconciliation, read from its
last line, `LOAD_RESULT {json}`). Rates and latencies are the benchmark's figures: they are
printed, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
PREFIX = "LOAD_RESULT "


@pytest.mark.slow
def test_ten_seconds_of_load_lose_and_duplicate_nothing():
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--seconds", "10"]
    command += ["--scale", "0.1", "--drain", "30", "--database-url", PG]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    output = f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
    lines = [line for line in completed.stdout.splitlines() if line.startswith(PREFIX)]
    assert lines, f"no {PREFIX.strip()} line (exit {completed.returncode})\n{output}"
    result = json.loads(lines[-1].removeprefix(PREFIX))
    webhook, sending = result["webhook"], result["sending"]
    failing = {route: r["first_error"] for route, r in result["routes"].items() if r["errors"]}

    assert result["errors"] == 0, (failing, sending["failed"], sending["workers"], output)
    assert result["lost_events"] == 0, (webhook, sending, output)
    assert result["duplicated_events"] == 0, (webhook, sending, output)
    assert completed.returncode == 0, output
    # The streams really ran: every planned status event was posted, answered and applied,
    # and the workers sent the messages that fell due (the fake received each once).
    assert webhook["events_posted"] == 3 * result["setup"]["announced_logs"]
    assert webhook["events_applied"] == webhook["events_posted"]
    assert webhook["replays_answered"] > 0
    assert sending["sent_in_database"] == sending["accepted_by_fake"] > 0
