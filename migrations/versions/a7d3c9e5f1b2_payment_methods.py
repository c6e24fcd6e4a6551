"""payment methods: a traveller's last choice, the provider of gateway calls, bill differences and sandbox deliveries

Revision ID: a7d3c9e5f1b2
Revises: f6c2a8d4e1b9
Create Date: 2026-12-03 20:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7d3c9e5f1b2"
down_revision = "f6c2a8d4e1b9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("payment_method", sa.String(length=20), nullable=True))
    # Every row kept so far is Alipay's: it was the only online method.
    for table in ("gateway_call", "reconciliation_difference", "sandbox_delivery"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("provider", sa.String(length=10), nullable=False, server_default="alipay"))


def downgrade():
    for table in ("gateway_call", "reconciliation_difference", "sandbox_delivery"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("provider")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("payment_method")
