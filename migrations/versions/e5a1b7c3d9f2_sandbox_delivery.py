"""sandbox_delivery: the sandbox gateway's pending notifications, retried on Alipay's schedule

Revision ID: e5a1b7c3d9f2
Revises: d5e1b7c3a9f2
Create Date: 2026-12-03 12:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a1b7c3d9f2"
down_revision = "d5e1b7c3a9f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("notify_url", sa.String(length=500), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sandbox_delivery_due", "sandbox_delivery", ["done_at", "due_at"], unique=False)


def downgrade():
    op.drop_index("ix_sandbox_delivery_due", table_name="sandbox_delivery")
    op.drop_table("sandbox_delivery")
