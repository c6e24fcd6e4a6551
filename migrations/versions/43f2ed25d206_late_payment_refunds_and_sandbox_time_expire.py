"""late-payment refunds (trade refunded, retries) and the sandbox trade's time_expire

Revision ID: 43f2ed25d206
Revises: 57c40ba5add7
Create Date: 2026-11-28 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "43f2ed25d206"
down_revision = "57c40ba5add7"
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite cannot ALTER most things in place; Alembic copies the table there.
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trade_no", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_refund_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_refund_trade_no"), ["trade_no"], unique=False)

    with op.batch_alter_table("sandbox_trade", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_expire", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("sandbox_trade", schema=None) as batch_op:
        batch_op.drop_column("time_expire")

    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_trade_no"))
        batch_op.drop_index(batch_op.f("ix_refund_status"))
        batch_op.drop_column("done_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("trade_no")
