"""reconciliation per payment method: each provider's bill of a day, compared, not ready or failed

Revision ID: 011f2b45ce10
Revises: b8e4d2f6a1c3
Create Date: 2026-12-03 20:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "011f2b45ce10"
down_revision = "b8e4d2f6a1c3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reconciliation_bill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reconciliation_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("gateway_count", sa.Integer(), nullable=False),
        sa.Column("ours_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["reconciliation_id"], ["reconciliation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reconciliation_id", "provider", name="uq_reconciliation_bill_provider"),
    )
    op.create_index(
        "ix_reconciliation_bill_reconciliation_id", "reconciliation_bill", ["reconciliation_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_reconciliation_bill_reconciliation_id", table_name="reconciliation_bill")
    op.drop_table("reconciliation_bill")
