"""refund requests: an agent asks, a supervisor approves or rejects

Revision ID: b3f8a1c2d4e6
Revises: 7d1e5a0c9b42
Create Date: 2026-11-28 10:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3f8a1c2d4e6"
down_revision = "7d1e5a0c9b42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refund_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # Batch mode: SQLite cannot ALTER most things in place; Alembic copies the table there.
    with op.batch_alter_table("refund_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_request_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refund_request_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("refund_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_request_status"))
        batch_op.drop_index(batch_op.f("ix_refund_request_order_id"))
    op.drop_table("refund_request")
