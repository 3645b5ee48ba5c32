"""Re-encrypts the stored originals under the newest key (after a key was added to the front of
FAULTMAVEN_ENCRYPTION_KEYS), so older keys can then be retired; values stored before encryption existed
are encrypted on the way."""

from __future__ import annotations

from sqlalchemy import Table, select, tuple_, update

from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.schema import metadata
from faultmaven.infrastructure.security.encryption import EncryptedBytes, EncryptedJSON, EncryptedText

BATCH_ROWS = 200
ENCRYPTED_TYPES = (EncryptedBytes, EncryptedJSON, EncryptedText)


def encrypted_columns() -> dict[Table, list[str]]:
    """Every table holding encrypted columns, with their names."""
    found: dict[Table, list[str]] = {}
    for table in metadata.sorted_tables:
        names = [column.name for column in table.columns if isinstance(column.type, ENCRYPTED_TYPES)]
        if names:
            found[table] = names
    return found


async def reencrypt_originals(database: Database) -> int:
    """Rewrites every encrypted value (read with any key, written with the first), one batch of rows per
    transaction (short write locks); returns the number of rows rewritten."""
    rewritten = 0
    for table, names in encrypted_columns().items():
        rewritten += await _reencrypt_table(database, table, names)
    return rewritten


async def _reencrypt_table(database: Database, table: Table, names: list[str]) -> int:
    keys = list(table.primary_key.columns)
    rewritten, after = 0, None
    while True:
        query = select(*keys, *(table.c[name] for name in names)).order_by(*keys).limit(BATCH_ROWS)
        if after is not None:
            query = query.where(tuple_(*keys) > tuple_(*after))
        async with database.write() as session:
            rows = (await session.execute(query)).all()
            for row in rows:
                identity = [key == value for key, value in zip(keys, row[: len(keys)], strict=True)]
                values = dict(zip(names, row[len(keys) :], strict=True))
                await session.execute(update(table).where(*identity).values(**values))
        if not rows:
            return rewritten
        rewritten += len(rows)
        after = tuple(rows[-1][: len(keys)])
