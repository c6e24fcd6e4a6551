"""account.pages_version: moved by the database whenever what a traveller's pages show changes

Revision ID: c4d9e2f1a7b3
Revises: b3f8a1c2d4e6
Create Date: 2026-11-28 12:10:00.000000

A signed-in traveller's page kept by a worker (web/page_cache) is served again only while this number
is unchanged: it moves with the account's orders, cards, packs, refunds, reminder settings, daily usage
readings and kept carrier answers. Triggers, not application code, move it: every writer (a view, the
notification, a job, staff, a bulk UPDATE) is counted, whichever process it runs in.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d9e2f1a7b3"
down_revision = "b3f8a1c2d4e6"
branch_labels = None
depends_on = None

# table -> how a row names its account ("{row}" is NEW or OLD)
OWNERS = {
    "orders": "{row}.account_id",
    "card": "{row}.account_id",
    "refund": "(SELECT account_id FROM orders WHERE id = {row}.order_id)",
    "card_pack": "(SELECT account_id FROM card WHERE id = {row}.card_id)",
    "reminder_setting": "{row}.account_id",
    "usage_reading": "(SELECT account_id FROM card WHERE id = {row}.card_id)",
    "carrier_reading": "(SELECT account_id FROM card WHERE id = {row}.card_id)",
}
BUMP = "UPDATE account SET pages_version = pages_version + 1 WHERE id IN ({ids})"


def _sqlite_triggers():
    for table, owner in OWNERS.items():
        rows = {"insert": ["NEW"], "update": ["OLD", "NEW"], "delete": ["OLD"]}
        for event, names in rows.items():
            ids = ", ".join(owner.format(row=name) for name in names)
            yield (
                f"CREATE TRIGGER {table}_pages_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {BUMP.format(ids=ids)}; END"
            )


def _postgresql_triggers():
    for table, owner in OWNERS.items():
        new, old = owner.format(row="NEW"), owner.format(row="OLD")
        yield f"""
            CREATE OR REPLACE FUNCTION {table}_pages_version() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN {BUMP.format(ids=new)};
                ELSIF TG_OP = 'DELETE' THEN {BUMP.format(ids=old)};
                ELSE {BUMP.format(ids=f"{old}, {new}")};
                END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql"""
        yield (
            f"CREATE TRIGGER {table}_pages_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_pages_version()"
        )


def upgrade():
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pages_version", sa.Integer(), nullable=False, server_default="0"))
    triggers = _postgresql_triggers() if op.get_bind().dialect.name == "postgresql" else _sqlite_triggers()
    for statement in triggers:
        op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in OWNERS:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_pages_version ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_pages_version()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_pages_{event}")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("pages_version")
