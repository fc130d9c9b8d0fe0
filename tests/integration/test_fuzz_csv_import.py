"""Hypothesis fuzzing of the contact CSV import end to end (POST /api/contacts/import, which
runs app/drip/csv_import.py), on SQLite and PostgreSQL, with the files of
tests/unit/test_fuzz_csv_rows.py: random cells, quoting, line endings, BOMs, encodings, bytes.

Every upload is answered 200 or 422, never 500. A 422 refuses the whole file with a clear
reason and imports nothing. A 200 accounts for every non-blank row: it is imported (created
or updated) or reported with its row number and the message the reader gives for it, and
each imported phone is a contact afterwards; nothing is half-imported.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, ContactImport
from tests.unit.test_fuzz_csv_rows import BYTES, FULL_HEADER, read_like_the_importer

FILENAMES = st.sampled_from(["contacts.csv", "", "a\x00b.csv", "ünï.csv", "x" * 400])


def contact_count(org_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(Contact).where(Contact.organization_id == org_id)
    )


def test_every_upload_is_refused_whole_or_accounted_row_by_row(clean_app, org_a):
    client = clean_app.test_client()

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(BYTES, FILENAMES)
    def check(content, filename):
        with clean_app.app_context():
            before = contact_count(org_a.org_id)
            response = client.post(
                "/api/contacts/import",
                data={"file": (io.BytesIO(content), filename)},
                headers=org_a.auth,
            )
            assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]
            verdict, outcomes = read_like_the_importer(content)
            if response.status_code == 422:
                error = response.get_json()["error"]
                assert error["code"] == "validation_error" and error["message"].strip()
                assert "file" in error["details"]["fields"]
                assert verdict == "refused" or not content
                assert contact_count(org_a.org_id) == before
                return
            data = response.get_json()["data"]
            assert verdict == "read"
            good = [o for o in outcomes if not isinstance(o, tuple)]
            bad = [
                {"row": n, "message": m} for n, m in (o for o in outcomes if isinstance(o, tuple))
            ]
            assert data["status"] == "done"
            assert data["created"] + data["updated"] == len(good)
            assert data["errorCount"] == len(bad)
            assert data["errors"] == bad[:1000]
            assert contact_count(org_a.org_id) == before + data["created"]
            phones = {row.phone for row in good}
            if phones:
                stored = db.session.scalars(
                    select(Contact.phone).where(
                        Contact.organization_id == org_a.org_id, Contact.phone.in_(phones)
                    )
                ).all()
                assert set(stored) == phones
            imp = db.session.get(ContactImport, data["importId"])
            assert imp.status == "done" and imp.last_error is None

    check()


def test_a_full_file_of_odd_rows(clean_app, org_a):
    """One of each odd cell the unit fuzz found, in one file: all rows accounted for."""
    rows = [
        ["+12025550143", "Ada", "", "", "vip", "x", ""],
        ["+12025550144", "A\x00da", "", "", "", "", ""],
        ["+12025550145", "", "", "America", "", "", ""],
        ["+12025550146", "", "", "", "", "", "n\x00te"],
        ["+12025550147", "é" * 121, "", "", "", "", ""],
    ]
    content = "\n".join(",".join(row) for row in [FULL_HEADER, *rows]).encode()
    response = clean_app.test_client().post(
        "/api/contacts/import",
        data={"file": (io.BytesIO(content), "odd.csv")},
        headers=org_a.auth,
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert (data["created"], data["errorCount"]) == (2, 3)
    assert [e["row"] for e in data["errors"]] == [3, 5, 6]
    assert data["errors"][0]["message"] == "first_name: contains a NUL character."
    assert data["errors"][1]["message"] == "note: contains a NUL character."
    # A time zone that is not one ("America" is a directory of zones): imported, with a word.
    assert [w["row"] for w in data["warnings"]] == [4]
    assert data["warnings"][0]["message"].startswith("timezone: 'America' is not a time zone")
    # The NUL is dropped from the cells kept for the failed-rows download.
    failed = clean_app.test_client().get(data["failedRowsUrl"], headers=org_a.auth)
    assert failed.status_code == 200 and "\x00" not in failed.get_data(as_text=True)
