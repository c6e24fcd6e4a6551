"""locations as records, their days' takings and late corrections; counter payments and partners name one

Counter payments keep their free-text `location` (rows from before name no record); nothing is dropped.

Revision ID: f6c2a8d4e1b9
Revises: e5a1b7c3d9f2
Create Date: 2026-12-03 17:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f6c2a8d4e1b9"
down_revision = "e5a1b7c3d9f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "location",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=30), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_zh_hans", sa.String(length=120), nullable=False),
        sa.Column("name_zh_hant", sa.String(length=120), nullable=False),
        sa.Column("address_en", sa.String(length=300), nullable=False),
        sa.Column("address_zh_hans", sa.String(length=300), nullable=False),
        sa.Column("address_zh_hant", sa.String(length=300), nullable=False),
        sa.Column("hours", sa.String(length=200), nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("temporarily_closed", sa.Boolean(), nullable=False),
        sa.Column("renews", sa.Boolean(), nullable=False),
        sa.Column("sells_sims", sa.Boolean(), nullable=False),
        sa.Column("takes_cash", sa.Boolean(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "location_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cash_cents", sa.Integer(), nullable=False),
        sa.Column("card_cents", sa.Integer(), nullable=False),
        sa.Column("qr_cents", sa.Integer(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("location_id", "day", name="uq_location_day"),
    )
    op.create_table(
        "day_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_day_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("staff_username", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["location_day_id"], ["location_day.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_day_correction_location_day_id", "day_correction", ["location_day_id"], unique=False)
    with op.batch_alter_table("counter_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hk_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("id_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("id_last4", sa.String(length=4), nullable=True))
        batch_op.create_index("ix_counter_payment_location_id", ["location_id"], unique=False)
        batch_op.create_foreign_key("fk_counter_payment_location", "location", ["location_id"], ["id"])
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_staff_user_location", "location", ["location_id"], ["id"])


def downgrade():
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_staff_user_location", type_="foreignkey")
        batch_op.drop_column("location_id")
    with op.batch_alter_table("counter_payment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_counter_payment_location", type_="foreignkey")
        batch_op.drop_index("ix_counter_payment_location_id")
        batch_op.drop_column("id_last4")
        batch_op.drop_column("id_kind")
        batch_op.drop_column("hk_day")
        batch_op.drop_column("location_id")
    op.drop_index("ix_day_correction_location_day_id", table_name="day_correction")
    op.drop_table("day_correction")
    op.drop_table("location_day")
    op.drop_table("location")
