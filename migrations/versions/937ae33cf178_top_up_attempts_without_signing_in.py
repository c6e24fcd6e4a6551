"""top-up attempts without signing in (number + last ICCID digits), counted per number and address

Revision ID: 937ae33cf178
Revises: 075657f8b81c
Create Date: 2026-11-28 09:29:45.652795

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '937ae33cf178'
down_revision = "075657f8b81c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('top_up_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('top_up_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_top_up_attempt_ip_created', ['ip', 'created_at'], unique=False)
        batch_op.create_index('ix_top_up_attempt_phone_created', ['phone', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('top_up_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_top_up_attempt_phone_created')
        batch_op.drop_index('ix_top_up_attempt_ip_created')

    op.drop_table('top_up_attempt')
