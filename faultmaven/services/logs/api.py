"""Function layer behind `faultmaven logs parse` and `faultmaven logs digest`."""

from __future__ import annotations

import io
from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path

from faultmaven.services.logs.digest import DigestBuilder, LogDigest
from faultmaven.services.logs.header import HeaderSchema, detect_header
from faultmaven.services.logs.templates import TemplateMiner
from faultmaven.services.logs.text_reader import inspect_text

HEADER_SAMPLE_LINES = 200
PROGRESS_EVERY_BYTES = 1 << 20
SNIFF_BYTES = 64 * 1024


def sniff_header(lines: Iterable[str]) -> tuple[HeaderSchema, Iterator[str]]:
    """Infer the header from the first lines and hand back an iterator that still yields every line."""
    iterator = iter(lines)
    head = list(islice(iterator, HEADER_SAMPLE_LINES))
    return detect_header(head), chain(head, iterator)


def parse_stream(lines: Iterable[str], miner: TemplateMiner | None = None) -> Iterator[str]:
    """Yield one template per input line, in order, each being the line's FINAL template.

    Templates generalise as lines arrive, so a template printed early could differ from the one the
    same group has at the end. Only a 4-byte template id per line is buffered (not the line), and the
    templates are emitted once the input ends.
    """
    miner = miner or TemplateMiner()
    schema, stream = sniff_header(lines)
    ids = array("I")
    for line in stream:
        ids.append(miner.add(schema.body(line)).template_id)
    texts = [template.text for template in miner.templates]
    for template_id in ids:
        yield texts[template_id]


def digest_lines(lines: Iterable[str], source: str | None = None) -> LogDigest:
    """Digest any iterator of text lines (header inferred from its first lines)."""
    schema, stream = sniff_header(lines)
    builder = DigestBuilder(schema, source=source)
    for line in stream:
        builder.add_line(line)
    return builder.finish()


def digest_file(path: str | Path, progress: Callable[[int], None] | None = None) -> LogDigest:
    """Digest a log file of any size in one streaming pass; `progress` receives bytes read so far.

    A binary file is refused (`BinaryContentError`, a ValueError with a message for the user) by the
    check evidence uploads get, run on the file's first lines; it also picks the encoding.
    """
    path = Path(path)
    with path.open("rb") as raw:
        head = raw.read(SNIFF_BYTES)
    whole_lines = head[: head.rfind(b"\n") + 1] or head
    encoding = inspect_text(io.BytesIO(whole_lines)).encoding
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        schema, stream = sniff_header(handle)
        builder = DigestBuilder(schema, source=path.name)
        next_report = PROGRESS_EVERY_BYTES
        for line in stream:
            builder.add_line(line)
            if progress is not None and builder.totals.bytes >= next_report:
                progress(builder.totals.bytes)
                next_report += PROGRESS_EVERY_BYTES
    digest = builder.finish()
    if progress is not None:
        progress(digest.totals.bytes)
    return digest
