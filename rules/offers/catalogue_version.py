"""One number in the database that changes whenever plans or promotions change.

Each worker's page cache (web/page_cache) is in its own process; it reads this number at most once a
second and forgets its pages when it moved, so a change made through any worker reaches them all.
"""

from typing import cast

from sqlalchemy import insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import CatalogueVersion, utcnow

ROW_ID = 1


def current() -> int:
    return db.session.scalar(select(CatalogueVersion.version).where(CatalogueVersion.id == ROW_ID)) or 0


def bump() -> None:
    """Count one change (in the caller's transaction: other workers see it once it commits)."""
    values = {"version": CatalogueVersion.version + 1, "changed_at": utcnow()}
    moved = db.session.execute(update(CatalogueVersion).where(CatalogueVersion.id == ROW_ID).values(**values))
    if cast(CursorResult, moved).rowcount == 1:
        return
    try:  # the migration inserts the row; a database made by create_all() may lack it
        with db.session.begin_nested():
            db.session.execute(insert(CatalogueVersion).values(id=ROW_ID, version=1, changed_at=utcnow()))
    except IntegrityError:
        db.session.execute(update(CatalogueVersion).where(CatalogueVersion.id == ROW_ID).values(**values))
