"""staff money: refund method, counter payments, the catalogue version every page cache checks

Revision ID: 9c1e5a7d3b20
Revises: 240ffd5a65b0
Create Date: 2026-11-28 09:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c1e5a7d3b20"
down_revision = "240ffd5a65b0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=20), server_default="alipay", nullable=False))

    op.create_table(
        "counter_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=80), nullable=False),
        sa.Column("staff_reference", sa.String(length=80), nullable=True),
        sa.Column("staff_username", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id"),
        sa.UniqueConstraint("request_id"),
    )
    version = op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade():
    op.drop_table("catalogue_version")
    op.drop_table("counter_payment")
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_column("method")
