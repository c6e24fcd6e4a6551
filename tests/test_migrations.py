"""Migrations keep the data: an upgrade from the first schema with rows in it, and back down.

Runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL points at one (in a database of its own,
made and dropped here, so the shared test database is left alone).
"""

import os
import uuid
from datetime import datetime

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app import create_app
from extensions import db

FIRST = "3cba387c4e73"
NOW = datetime(2026, 11, 25, 10, 0)
OLD_PROMOTIONS = [  # code, kind, value: what each must take off afterwards
    ("TEN", "percent", 10),
    ("TWENTY", "fixed", 2000),
    ("TOOMUCH", "percent", 150),  # the old code clamped the discount to the subtotal: 100 %
    ("ODDKIND", "voucher", 500),  # any kind but percent was a fixed amount
]


@pytest.fixture
def empty_url(tmp_path):
    """A database of its own for this test: a fresh SQLite file, or a new PostgreSQL database."""
    shared = os.environ.get("TEST_DATABASE_URL")
    if not shared:
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    name = "migration_" + uuid.uuid4().hex[:8]
    admin = create_engine(shared, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def fill_first_schema() -> None:
    """Rows as the first schema held them: promotions of every kind, and an order using one."""
    run = db.session.execute
    for code, kind, value in OLD_PROMOTIONS:
        run(
            text(
                "INSERT INTO promotion (code, kind, value, min_spend_cents, uses_reserved, active)"
                " VALUES (:code, :kind, :value, 0, 1, true)"
            ),
            {"code": code, "kind": kind, "value": value},
        )
    run(
        text("INSERT INTO account (id, phone, session_token, created_at) VALUES (1, '+85291234567', 't', :now)"),
        {"now": NOW},
    )
    run(
        text(
            "INSERT INTO card (id, msisdn, iccid, account_id, created_at) VALUES (1, '+85261234567', :iccid, 1, :now)"
        ),
        {"iccid": "8985200000061234567", "now": NOW},
    )
    run(
        text(
            "INSERT INTO plan (id, code, name_en, name_zh_hans, name_zh_hant, region, days, voice_minutes, currency,"
            " price_cents, active, sort_order) VALUES (1, 'gba-3d', 'G', 'G', 'G', 'hk_cn', 3, 0, 'HKD', 5800, true, 0)"
        )
    )
    run(
        text(
            "INSERT INTO orders (number, account_id, card_id, plan_id, promotion_id, state, currency, price_cents,"
            " discount_cents, total_cents, refunded_cents, validity_start, validity_end, locale, created_at, pay_by,"
            " fulfil_attempts) VALUES ('RR261125-ABCDEF', 1, 1, 1, (SELECT id FROM promotion WHERE code = 'TEN'),"
            " 'fulfilled', 'HKD', 5800, 580, 5220, 0, :now, :now, 'en', :now, :now, 1)"
        ),
        {"now": NOW},
    )
    db.session.commit()


def test_the_upgrade_moves_every_promotion_into_its_discount_column_and_keeps_orders(empty_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_url, "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade(revision=FIRST)
        fill_first_schema()
        flask_migrate.upgrade()

        rows = db.session.execute(text("SELECT code, percent_off, amount_off_cents FROM promotion ORDER BY code"))
        assert sorted(rows) == [
            ("ODDKIND", None, 500),
            ("TEN", 10, None),
            ("TOOMUCH", 100, None),
            ("TWENTY", None, 2000),
        ]
        columns = {column["name"] for column in inspect(db.engine).get_columns("promotion")}
        assert "kind" not in columns and "value" not in columns
        order = db.session.execute(text("SELECT number, state, total_cents, promotion_id FROM orders")).one()
        assert order[:3] == ("RR261125-ABCDEF", "fulfilled", 5220) and order.promotion_id is not None

        with pytest.raises(IntegrityError):  # both discounts at once: refused
            db.session.execute(text("UPDATE promotion SET amount_off_cents = 100 WHERE code = 'TEN'"))
        db.session.rollback()
        with pytest.raises(IntegrityError):  # a state nobody knows: refused
            db.session.execute(text("UPDATE orders SET state = 'shipped'"))
        db.session.rollback()

        flask_migrate.downgrade(revision=FIRST)
        rows = db.session.execute(text("SELECT code, kind, value FROM promotion ORDER BY code"))
        assert sorted(rows) == [
            ("ODDKIND", "fixed", 500),
            ("TEN", "percent", 10),
            ("TOOMUCH", "percent", 100),
            ("TWENTY", "fixed", 2000),
        ]
        assert db.session.execute(text("SELECT count(*) FROM orders")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
