"""Drop account.pages_version and its triggers: no signed-in page is kept any more

Revision ID: d5e1b7c3a9f2
Revises: c4d9e2f1a7b3
Create Date: 2026-12-03 12:10:00.000000

The triggers made every write to an order also update its account row, after the order row: a lock
order that deadlocked a checkout (account, then order) against a payment notification (order, then
account), and serialised one account's payments. The number was only a cache key (no one's data).
"""

import importlib.util
from pathlib import Path

from alembic import op

# revision identifiers, used by Alembic.
revision = "d5e1b7c3a9f2"
down_revision = "c4d9e2f1a7b3"
branch_labels = None
depends_on = None


def _revision_c4d9e2f1a7b3():
    path = Path(__file__).with_name("c4d9e2f1a7b3_account_pages_version.py")
    spec = importlib.util.spec_from_file_location("c4d9e2f1a7b3", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    _revision_c4d9e2f1a7b3().downgrade()  # drops exactly the triggers, functions and column it made


def downgrade():
    _revision_c4d9e2f1a7b3().upgrade()
