"""Run in a child process by the memory test: ingest one file through the evidence service, print JSON
with the peak RSS (VmHWM) before and after, so the test measures this ingestion and nothing else.

Usage: python -m tests.evidence.ingest_probe PATH DATABASE_URL
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from faultmaven.config.settings import Settings
from faultmaven.container import Container
from faultmaven.services.cases.service import CaseCreate
from faultmaven.services.evidence import StagedUpload


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


async def ingest(path: Path, database_url: str) -> dict[str, object]:
    container = Container(Settings(database_url=database_url, kb_load_starter=False, log_level="WARNING"))
    await container.start()
    try:
        user = await container.auth_service.local_user()
        case = await container.case_service.create_case(user.user_id, CaseCreate(title="memory probe"))
        before = peak_rss_bytes()
        started = time.perf_counter()
        upload = StagedUpload(path.open("rb"), path.name)
        item = await container.evidence_service.add_evidence(user.user_id, case.case_id, upload)
        await container.evidence_service.wait_idle()
        item = await container.evidence_service.get_evidence(user.user_id, case.case_id, item.data_id)
        return {
            "seconds": time.perf_counter() - started,
            "rss_before": before,
            "rss_after": peak_rss_bytes(),
            "status": item.processing_status.value,
            "line_count": item.line_count,
            "errors": len((item.digest or {}).get("errors", [])),
        }
    finally:
        await container.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(ingest(Path(sys.argv[1]), sys.argv[2]))))
