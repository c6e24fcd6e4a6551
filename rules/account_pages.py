"""What a signed-in traveller's pages depend on, read in one small query.

A worker keeps a copy of such a page (web/page_cache) together with this state, and serves the copy
again only while the state read afresh is the same: the session token (a sign-out anywhere ends it),
the account's pages_version (moved by database triggers whenever its orders, cards, packs, refunds,
reminder settings, usage readings or kept carrier answers change, by any process), its number and
language, and the catalogue version.
"""

from extensions import db

STATE_SQL = (
    "SELECT a.session_token, a.pages_version, a.phone, a.locale, "
    "COALESCE((SELECT version FROM catalogue_version WHERE id = 1), 0) FROM account a WHERE a.id = {param}"
)


def state(account_id: int) -> tuple | None:
    """The account's state as above, or None when there is no such account (or it cannot be read)."""
    # Below the ORM on purpose: this runs for every kept page served, where a Session's
    # setup and teardown would cost more than the page itself.
    dialect = db.engine.dialect
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(STATE_SQL.format(param="?" if dialect.paramstyle == "qmark" else "%s"), (account_id,))
        row = cursor.fetchone()
        cursor.close()
    except dialect.loaded_dbapi.Error:  # e.g. a database not yet upgraded (no pages_version): no kept pages
        return None
    finally:
        connection.close()
    return tuple(row) if row else None
