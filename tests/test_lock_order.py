"""An order's writers never touch its account row: nothing in the database adds a lock behind their backs
(the triggers that moved account.pages_version did, and deadlocked a checkout against a notification)."""

from sqlalchemy import inspect, text

from extensions import db


def test_no_trigger_writes_to_another_table(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        assert db.session.scalars(text(query)).all() == []
        assert "pages_version" not in {column["name"] for column in inspect(db.engine).get_columns("account")}
