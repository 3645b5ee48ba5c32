"""Alembic environment: runs on the connection that `persistence.migrations` hands in."""

from alembic import context

from faultmaven.infrastructure.persistence.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
context.run_migrations()
