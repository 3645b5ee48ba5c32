"""Re-encrypts the stored originals under the newest key (after a key was added to the front of
FAULTMAVEN_ENCRYPTION_KEYS), so older keys can then be retired; maps stored before encryption existed are
encrypted on the way."""

from __future__ import annotations

from sqlalchemy import select, update

from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import CaseRow

BATCH_ROWS = 200


async def reencrypt_mask_maps(database: Database) -> int:
    """Rewrites every case's mask map, one batch per transaction (short write locks); returns the count."""
    rewritten, after = 0, ""
    while True:
        async with database.write() as session:
            rows = (
                await session.execute(
                    select(CaseRow.case_id, CaseRow.mask_map)
                    .where(CaseRow.case_id > after)
                    .order_by(CaseRow.case_id)
                    .limit(BATCH_ROWS)
                )
            ).all()
            for case_id, mask_map in rows:
                await session.execute(
                    update(CaseRow).where(CaseRow.case_id == case_id).values(mask_map=mask_map or {})
                )
        if not rows:
            return rewritten
        rewritten += len(rows)
        after = rows[-1][0]
