"""A batch of rows as the source of one UPDATE, on SQLite and PostgreSQL.

The logs and enrollments carry statement-level triggers on PostgreSQL (the rollups of
migrations 0006 and 0007): an executemany of an UPDATE runs them once per row, each a grouped
INSERT ... SELECT over its transition table. Recording a batch of 500 sends that way cost
0.7 ms of database time per message (bench/send_throughput.py, issue 17); one UPDATE ... FROM
unnest() of one array per column runs them once per batch. SQLite keeps the executemany (its
row triggers run per row whatever the statement).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from sqlalchemy import bindparam, column, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.type_api import TypeEngine


class Rows:
    """`rows.c.<name>` stands for each row's value of `name` in a statement built by the
    caller; `rows.execute(statement)` runs it for every row. The rows are dicts with the same
    keys, typed by `types`; `key` names the value that picks the updated row, unique in the
    batch (a batch that repeats it runs as an executemany, where each row applies in turn)."""

    def __init__(
        self,
        session: Session,
        rows: Sequence[Mapping],
        types: Mapping[str, TypeEngine],
        key: str = "b_id",
    ):
        self.session = session
        self.rows = list(rows)
        self.names = list(types)
        distinct = len({row[key] for row in self.rows}) == len(self.rows)
        self.set_based = session.get_bind().dialect.name == "postgresql" and distinct
        if self.set_based:
            arrays = [
                bindparam(f"{name}_values", [row[name] for row in self.rows], ARRAY(kind))
                for name, kind in types.items()
            ]
            source = (
                func.unnest(*arrays)
                .table_valued(*(column(name, kind) for name, kind in types.items()))
                .render_derived(name="batch_rows")
            )
            self.c = SimpleNamespace(**{name: source.c[name] for name in self.names})
        else:
            self.c = SimpleNamespace(
                **{name: bindparam(name, type_=kind) for name, kind in types.items()}
            )

    def execute(self, statement) -> None:
        if not self.rows:
            return
        if self.set_based:
            self.session.execute(statement)
        else:
            self.session.execute(statement, [{n: row[n] for n in self.names} for row in self.rows])
