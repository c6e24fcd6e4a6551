"""staff order search indexes (newest first by card, account, state; ICCID reversed); daily reconciliation
(and the sandbox gateway's refund log for its bills)

Revision ID: 7d1e5a0c9b42
Revises: 728d092ee5b3
Create Date: 2026-11-28 09:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d1e5a0c9b42"
down_revision = "728d092ee5b3"
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite cannot ALTER most things in place; Alembic copies the table there.
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("iccid_reversed", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_card_iccid_reversed"), ["iccid_reversed"], unique=False)
    # Existing cards: the ORM keeps the column from now on. Reversed in Python (SQLite has no reverse()).
    card = sa.table(
        "card", sa.column("id", sa.Integer), sa.column("iccid", sa.String), sa.column("iccid_reversed", sa.String)
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(card.c.id, card.c.iccid).where(card.c.iccid.is_not(None))).all()
    for card_id, iccid in rows:
        connection.execute(card.update().where(card.c.id == card_id).values(iccid_reversed=iccid[::-1]))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_card_created", ["card_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_account_created", ["account_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_state_created", ["state", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_paid_at", ["paid_at"], unique=False)
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.create_index("ix_refund_done_at", ["done_at"], unique=False)

    with op.batch_alter_table("sandbox_trade", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_log", sa.Text(), server_default="", nullable=False))

    op.create_table(
        "reconciliation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("gateway_count", sa.Integer(), nullable=False),
        sa.Column("ours_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )
    op.create_table(
        "reconciliation_difference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reconciliation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("trade_no", sa.String(length=64), nullable=True),
        sa.Column("refund_no", sa.String(length=64), nullable=True),
        sa.Column("our_cents", sa.Integer(), nullable=True),
        sa.Column("their_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["reconciliation_id"], ["reconciliation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconciliation_difference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconciliation_difference_reconciliation_id"), ["reconciliation_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("reconciliation_difference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_difference_reconciliation_id"))
    op.drop_table("reconciliation_difference")
    op.drop_table("reconciliation")
    with op.batch_alter_table("sandbox_trade", schema=None) as batch_op:
        batch_op.drop_column("refund_log")
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_index("ix_refund_done_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_paid_at")
        batch_op.drop_index("ix_orders_state_created")
        batch_op.drop_index("ix_orders_account_created")
        batch_op.drop_index("ix_orders_card_created")
        batch_op.drop_index("ix_orders_created")
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_iccid_reversed"))
        batch_op.drop_column("iccid_reversed")
