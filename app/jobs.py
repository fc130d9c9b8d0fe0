"""Job entry points (RQ, or app.queue's embedded thread): they take ids, load, call drip,
commit. Each runs inside an app context (worker.py's, or the embedded thread's)."""

from __future__ import annotations

from app.drip import csv_import
from app.extensions import db


def run_contact_import(import_id: int) -> None:
    """Import a queued CSV, one committed chunk at a time.

    Safe to run again after a crash: it continues after the rows already committed; an import
    that is done is left alone.
    """
    session = db.session
    run = csv_import.start(session, import_id)
    if run is None:
        return
    session.commit()
    try:
        for chunk in csv_import.pending_chunks(session, run):
            csv_import.apply_chunk(session, run, chunk)
            session.commit()
        csv_import.finish(session, run)
        session.commit()
    except Exception as exc:
        session.rollback()
        csv_import.fail(session, import_id, f"{exc.__class__.__name__}: {exc}")
        session.commit()
        raise
