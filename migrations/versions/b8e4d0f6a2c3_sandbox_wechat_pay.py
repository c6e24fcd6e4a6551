"""the WeChat Pay sandbox's trades and refunds

Revision ID: b8e4d0f6a2c3
Revises: a7d3c9e5f1b2
Create Date: 2026-12-03 20:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8e4d0f6a2c3"
down_revision = "a7d3c9e5f1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_wechat_trade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("prepay_id", sa.String(length=64), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("notify_url", sa.String(length=500), nullable=False),
        sa.Column("time_expire", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_trade_no"),
        sa.UniqueConstraint("prepay_id"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_table(
        "sandbox_wechat_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=32), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_refund_no"),
        sa.UniqueConstraint("refund_id"),
    )
    with op.batch_alter_table("sandbox_wechat_refund") as batch:
        batch.create_index("ix_sandbox_wechat_refund_out_trade_no", ["out_trade_no"], unique=False)


def downgrade():
    with op.batch_alter_table("sandbox_wechat_refund") as batch:
        batch.drop_index("ix_sandbox_wechat_refund_out_trade_no")
    op.drop_table("sandbox_wechat_refund")
    op.drop_table("sandbox_wechat_trade")
