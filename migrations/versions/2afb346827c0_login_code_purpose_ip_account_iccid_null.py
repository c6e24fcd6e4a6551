"""login codes: purpose, requesting account and address; a card's ICCID may be unknown

Revision ID: 2afb346827c0
Revises: 43f2ed25d206
Create Date: 2026-11-28 09:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2afb346827c0'
down_revision = '43f2ed25d206'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=10), server_default='sign_in', nullable=False))
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
        batch_op.create_index(batch_op.f('ix_login_code_ip'), ['ip'], unique=False)
        batch_op.create_foreign_key('fk_login_code_account_id_account', 'account', ['account_id'], ['id'])

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.alter_column('iccid', existing_type=sa.String(length=20), nullable=True)


def downgrade():
    # Cards whose ICCID became unknown cannot go back to a NOT NULL column: remove them first.
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.alter_column('iccid', existing_type=sa.String(length=20), nullable=False)

    with op.batch_alter_table('login_code', schema=None) as batch_op:
        batch_op.drop_constraint('fk_login_code_account_id_account', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_login_code_ip'))
        batch_op.drop_column('ip')
        batch_op.drop_column('account_id')
        batch_op.drop_column('purpose')
