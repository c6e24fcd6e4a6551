"""orders.state checked against the known states; a promotion's percent_off or amount_off_cents

Revision ID: 57c40ba5add7
Revises: 3cba387c4e73
Create Date: 2026-11-28 09:00:00

- orders.state may only hold a known state (CHECK ck_orders_state), now including needs_attention
  (adding the data failed too often: staff act) and to_add_by_hand (CARRIER=manual).
- promotion.kind + promotion.value become percent_off or amount_off_cents, exactly one set
  (CHECK ck_promotion_one_discount). Every row is moved: a 'percent' row's value goes to percent_off,
  any other row's (the old code treated every other kind as fixed) to amount_off_cents. Values
  outside 0-100 % or below 0 are brought into range: the old code clamped the discount the same way,
  so what each code takes off is unchanged.

Batch mode, so SQLite (which cannot add constraints or drop columns in place) gets its tables copied.
The state list is written out here, not imported: this migration must not change when a state is added.
"""

import sqlalchemy as sa
from alembic import op

revision = "57c40ba5add7"
down_revision = "3cba387c4e73"
branch_labels = None
depends_on = None

STATES = (
    "pending_payment",
    "paid",
    "needs_attention",
    "to_add_by_hand",
    "fulfilled",
    "expired",
    "cancelled",
    "refunded",
)
STATE_CHECK = "state IN (" + ", ".join(f"'{state}'" for state in STATES) + ")"
DISCOUNT_CHECK = (
    "(percent_off IS NULL) <> (amount_off_cents IS NULL)"
    " AND (percent_off IS NULL OR percent_off BETWEEN 0 AND 100)"
    " AND (amount_off_cents IS NULL OR amount_off_cents >= 0)"
)


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_orders_state", STATE_CHECK)

    with op.batch_alter_table("promotion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("percent_off", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amount_off_cents", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE promotion SET percent_off = CASE WHEN value > 100 THEN 100 WHEN value < 0 THEN 0 ELSE value END"
        " WHERE kind = 'percent'"
    )
    op.execute(
        "UPDATE promotion SET amount_off_cents = CASE WHEN value < 0 THEN 0 ELSE value END"
        " WHERE kind IS NULL OR kind <> 'percent'"
    )
    with op.batch_alter_table("promotion", schema=None) as batch_op:
        batch_op.drop_column("kind")
        batch_op.drop_column("value")
        batch_op.create_check_constraint("ck_promotion_one_discount", DISCOUNT_CHECK)


def downgrade():
    with op.batch_alter_table("promotion", schema=None) as batch_op:
        batch_op.drop_constraint("ck_promotion_one_discount", type_="check")
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("value", sa.Integer(), nullable=True))
    op.execute("UPDATE promotion SET kind = 'percent', value = percent_off WHERE percent_off IS NOT NULL")
    op.execute("UPDATE promotion SET kind = 'fixed', value = amount_off_cents WHERE percent_off IS NULL")
    with op.batch_alter_table("promotion", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=10), nullable=False)
        batch_op.alter_column("value", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("amount_off_cents")
        batch_op.drop_column("percent_off")

    # The two new states have no place in the old schema: such orders must be settled first.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("ck_orders_state", type_="check")
