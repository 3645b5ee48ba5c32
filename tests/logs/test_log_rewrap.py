"""Grouping must not depend on the header layout: the same messages under other generated headers
(other timestamp formats, record number and host in front, a file name prefix, pipes, bracketed
timestamps without a year) must be grouped as under their original headers."""

from __future__ import annotations

import random

import pytest
from loghub_data import DATASETS, raw_lines, requires_loghub, structured_rows
from rewrap import LAYOUTS, agreement, rewrap

from faultmaven.services.logs import parse_stream

MIN_AGREEMENT = 0.98
"""Share of lines whose group under a generated header equals their group under the original one."""

_MESSAGES = (
    "Accepted password for {user} from {ip} port {port} ssh2",
    "Connection closed by {ip} [preauth]",
    "Received block blk_{n} of size {n} from /{ip}",
    "Session {uuid} opened for user {user}",
    "GET /api/v1/orders/{n} completed in {n} ms status=200",
    "Flushed {n} records to segment seg-{hex} in {n} ms",
    "{host}:{port} open through proxy proxy.example.net:{port} HTTPS",
    "{host}:{port} close, {n} bytes sent, {n} bytes received, lifetime {n}",
    "Cache hit ratio {n}% for region eu-west-{n}",
    "Invalid user {user} from {ip}",
)


def _messages(count: int) -> list[str]:
    rng = random.Random(3)
    out = []
    for _ in range(count):
        values = {
            "user": rng.choice(("root", "admin", "alice")),
            "ip": f"10.{rng.randrange(256)}.1.{rng.randrange(256)}",
            "port": rng.randrange(1024, 65535),
            "n": rng.randrange(10**6),
            "hex": f"{rng.getrandbits(48):012x}",
            "uuid": f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                    f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
            "host": rng.choice(("www.example.com", "cdn.static.example.org", "mail.corp.example.de")),
        }
        out.append(rng.choice(_MESSAGES).format(**values))
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_generated_messages_group_alike_under_every_layout(layout: str) -> None:
    messages = _messages(600)
    reference = list(parse_stream(messages))
    assert len(set(reference)) == len(_MESSAGES)
    assert agreement(list(parse_stream(rewrap(messages, layout))), reference) >= MIN_AGREEMENT


@requires_loghub
@pytest.mark.parametrize("name", DATASETS)
def test_loghub_messages_group_alike_under_every_layout(name: str) -> None:
    contents = [row["Content"] for row in structured_rows(name)]
    reference = list(parse_stream(raw_lines(name)))
    scores = {
        layout: agreement(list(parse_stream(rewrap(contents, layout))), reference) for layout in LAYOUTS
    }
    assert min(scores.values()) >= MIN_AGREEMENT, scores
