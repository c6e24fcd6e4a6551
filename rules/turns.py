"""Counted limits that hold exactly under concurrency: writers of one key take turns.

A limit is counted exactly by recording the attempt first and then counting the rows that include
it, while no other writer for the same key can record one in between. PostgreSQL: transaction-scoped
advisory locks, taken in a fixed order (no deadlock), released at commit. SQLite has one writer at
a time: its write lock is taken at once (BEGIN IMMEDIATE), waiting its turn, instead of by the
insert, where two transactions that had both read could refuse each other ("database is locked").
"""

import hashlib

from sqlalchemy import text

from extensions import db


def take_turns(*keys: str) -> None:
    """Make concurrent writers naming any of `keys` wait for each other until they commit."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if connection.dialect.name != "postgresql":
        return
    for key in sorted({int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "big", signed=True) for k in keys}):
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
