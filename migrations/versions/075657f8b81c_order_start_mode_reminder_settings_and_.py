"""order start mode, reminder settings and renew links

Revision ID: 075657f8b81c
Revises: a7d4e2c91b05
Create Date: 2026-11-28 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '075657f8b81c'
down_revision = 'a7d4e2c91b05'
branch_labels = None
depends_on = None


def upgrade():
    # Orders made before this all queued after the card's packs: after_current describes them.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('start_mode', sa.String(length=15), server_default='after_current', nullable=False)
        )
        batch_op.create_check_constraint('ck_orders_start_mode', "start_mode IN ('now', 'after_current')")

    op.create_table(
        'reminder_setting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('next_check_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name='fk_reminder_setting_account_id_account'),
        sa.ForeignKeyConstraint(['card_id'], ['card.id'], name='fk_reminder_setting_card_id_card'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('card_id', 'account_id', name='uq_reminder_setting_card_account'),
    )
    with op.batch_alter_table('reminder_setting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_setting_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_setting_next_check_at'), ['next_check_at'], unique=False)

    op.create_table(
        'renew_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=24), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name='fk_renew_link_account_id_account'),
        sa.ForeignKeyConstraint(['card_id'], ['card.id'], name='fk_renew_link_card_id_card'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token', name='uq_renew_link_token'),
    )


def downgrade():
    op.drop_table('renew_link')
    with op.batch_alter_table('reminder_setting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_setting_next_check_at'))
        batch_op.drop_index(batch_op.f('ix_reminder_setting_account_id'))
    op.drop_table('reminder_setting')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('ck_orders_start_mode', type_='check')
        batch_op.drop_column('start_mode')
