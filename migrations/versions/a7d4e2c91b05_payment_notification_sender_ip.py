"""payment notifications: the sender's ip, and a count of unsigned ones not kept

Revision ID: a7d4e2c91b05
Revises: 2afb346827c0
Create Date: 2026-11-28 09:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d4e2c91b05'
down_revision = '2afb346827c0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('repeats', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_payment_notification_ip_received', ['ip', 'received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('payment_notification', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_notification_ip_received')
        batch_op.drop_column('repeats')
        batch_op.drop_column('ip')
