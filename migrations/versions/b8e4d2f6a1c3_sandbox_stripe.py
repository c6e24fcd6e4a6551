"""sandbox_stripe_*: the local Stripe sandbox's Checkout Sessions, refunds and idempotent answers

Revision ID: b8e4d2f6a1c3
Revises: b8e4d0f6a2c3
Create Date: 2026-12-03 20:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8e4d2f6a1c3"
down_revision = "b8e4d0f6a2c3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_stripe_session",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("client_reference_id", sa.String(length=200), nullable=True),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("amount_total", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("payment_status", sa.String(length=10), nullable=False),
        sa.Column("payment_intent", sa.String(length=40), nullable=True),
        sa.Column("success_url", sa.String(length=500), nullable=False),
        sa.Column("cancel_url", sa.String(length=500), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_intent"),
    )
    op.create_index(
        "ix_sandbox_stripe_session_client_reference_id", "sandbox_stripe_session", ["client_reference_id"]
    )
    op.create_index("ix_sandbox_stripe_session_created", "sandbox_stripe_session", ["created_at"])
    op.create_table(
        "sandbox_stripe_refund",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("payment_intent", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sandbox_stripe_refund_payment_intent", "sandbox_stripe_refund", ["payment_intent"])
    op.create_table(
        "sandbox_stripe_request",
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )


def downgrade():
    op.drop_table("sandbox_stripe_request")
    op.drop_index("ix_sandbox_stripe_refund_payment_intent", table_name="sandbox_stripe_refund")
    op.drop_table("sandbox_stripe_refund")
    op.drop_index("ix_sandbox_stripe_session_created", table_name="sandbox_stripe_session")
    op.drop_index("ix_sandbox_stripe_session_client_reference_id", table_name="sandbox_stripe_session")
    op.drop_table("sandbox_stripe_session")
