"""query jobs: leases and attempts on queries, query events, one user/agent message per query

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queries") as batch_op:
        batch_op.add_column(sa.Column("request", JSON_TYPE, nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_queries_status_lease", ["status", "lease_expires_at"])
    op.create_table(
        "query_events",
        sa.Column("query_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("data", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["queries.query_id"],
            name=op.f("fk_query_events_query_id_queries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("query_id", "seq", name=op.f("pk_query_events")),
    )
    op.create_index(
        "uq_case_messages_query_type",
        "case_messages",
        ["query_id", "message_type"],
        unique=True,
        sqlite_where=sa.text("query_id IS NOT NULL"),
        postgresql_where=sa.text("query_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_case_messages_query_type", table_name="case_messages")
    op.drop_table("query_events")
    with op.batch_alter_table("queries") as batch_op:
        batch_op.drop_index("ix_queries_status_lease")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("attempts")
        batch_op.drop_column("request")
