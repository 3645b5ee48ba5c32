"""chunk embeddings: a nullable float32 vector per knowledge chunk, for the optional hybrid ranking

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("knowledge_chunks", sa.Column("embedding", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # A plain ALTER (SQLite 3.35+), not a batch copy: copying the table would drop its FTS triggers.
    op.drop_column("knowledge_chunks", "embedding")
