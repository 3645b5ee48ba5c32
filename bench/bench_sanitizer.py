"""Benchmark `Sanitizer.sanitize` on a generated ~10 MB log with a secret every ~50 lines.

The ordinary lines are synthetic templates, or, with `--loghub DIR`, real lines cycled from the `*.log`
files under DIR (e.g. the loghub-2k samples: HDFS, Hadoop, Spark, BGL, Linux, OpenSSH, Apache, Zookeeper),
shuffled so that every chunk mixes formats. The data is read at run time, never committed.

Prints MB/s chunk by chunk (1 MiB chunks cut at line ends) and line by line, each as a ratio against two
baselines measured in the same run: `splitlines()` + join, and one simple IPv4 `re.sub` (the cost of the
most naive one-pattern redactor). Also checks that no planted secret survives and that restore round-trips.

Usage: .venv/bin/python bench/bench_sanitizer.py [--mb 10] [--seed 7] [--loghub /work/shared/data/loghub-2k]
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faultmaven.infrastructure.security.sanitizer import Sanitizer, redact

CHUNK_BYTES = 1 << 20
SECRET_EVERY_LINES = 50

ORDINARY_LINES = (
    "081109 {hms} {n3} INFO dfs.DataNode$PacketResponder: PacketResponder {small} for block blk_{blk} "
    "terminating",
    "081109 {hms} {n3} INFO dfs.DataNode$DataXceiver: Receiving block blk_{blk} src: /{ip}:{port} "
    "dest: /{ip}:50010",
    "081109 {hms} {n3} INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: /user/root/rand/_temporary/"
    "_task_200811092030_0001_m_{n6}_0/part-{n5}. blk_{blk}",
    '{ip} - - [10/Oct/2024:13:55:{ss} -0700] "GET /api/v1/orders/{n6}?page={small} HTTP/1.1" 200 {n5} '
    '"-" "Mozilla/5.0 (X11; Linux x86_64)" {ms}ms',
    "24/10/10 13:55:{ss} INFO executor.Executor: Finished task {small}.0 in stage {small}.0 (TID {n5}). "
    "{n5} bytes result sent to driver",
    "24/10/10 13:55:{ss} WARN scheduler.TaskSetManager: Lost task {small}.1 in stage 3.0 (TID {n5}, "
    "worker-{small}.cluster.local, executor {small}): java.io.IOException: Connection reset by peer",
    '2024-10-10T13:55:{ss}.{ms}Z level=info msg="request completed" request_id={uuid} method=POST '
    "path=/api/v1/payments status=201 duration_ms={ms} upstream=payments-svc:8443",
    '2024-10-10T13:55:{ss}.{ms}Z level=warn msg="slow query" table=orders rows={n5} elapsed={ms}ms '
    "db_host=orders-db.internal version=14.9",
)
SECRET_LINES = (
    '2024-10-10T13:55:{ss}Z level=debug msg="loaded config" aws_access_key_id={aws_id} '
    "aws_secret_access_key={aws_secret}",
    '{ip} - - [10/Oct/2024:13:55:{ss} -0700] "GET /me HTTP/1.1" 200 12 "Authorization: Bearer {jwt}"',
    '2024-10-10T13:55:{ss}Z level=error msg="db connect failed" dsn=postgres://app:{password}@{ip}:5432/orders',
    '2024-10-10T13:55:{ss}Z level=info payload={{"user": "{email}", "password": "{password}"}}',
    '2024-10-10T13:55:{ss}Z level=info msg="charge" card={card} amount=42.00 currency=EUR',
    '2024-10-10T13:55:{ss}Z level=debug msg="git clone" token={github} url=https://github.com/acme/api.git',
    '2024-10-10T13:55:{ss}Z level=warn msg="webhook" slack=xoxb-{n6}-{n6}-{alnum24} peer={ipv6}',
    "-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-{n5}\ntype: Opaque\ndata:\n  username: YWRtaW4=\n"
    "  connection: {k8s_b64}",
    '{ip} - - [10/Oct/2024:13:55:{ss} -0700] "GET /download?X-Amz-Algorithm=AWS4-HMAC-SHA256'
    "&X-Amz-Credential={aws_id}%2F20241010%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={hex64} "
    'HTTP/1.1" 200 {n5}',
    "+ mysqldump -u root -p{password} --single-transaction orders > /backup/orders-{n6}.sql",
    '2024-10-10T13:55:{ss}Z level=info msg="datadog agent started" API key {hex32} site=datadoghq.eu',
    "2024-10-10T13:55:{ss}Z level=debug msg=upload iban={iban} amount=42.00",
)


def _alnum(rng: random.Random, size: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(size))


def _luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        digits = prefix + check
        total = sum(
            (int(c) * 2 - 9 if int(c) > 4 else int(c) * 2) if i % 2 else int(c)
            for i, c in enumerate(reversed(digits))
        )
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


FIELDS: dict[str, Callable[[random.Random], str]] = {
    "hms": lambda rng: f"{rng.randrange(240000):06d}",
    "ss": lambda rng: f"{rng.randrange(60):02d}",
    "n3": lambda rng: str(rng.randrange(1000)),
    "n5": lambda rng: str(rng.randrange(100000)),
    "n6": lambda rng: str(rng.randrange(1000000)),
    "small": lambda rng: str(rng.randrange(1, 40)),
    "ms": lambda rng: str(rng.randrange(1, 999)),
    "blk": lambda rng: str(rng.randrange(-(2**63), 2**63)),
    "ip": lambda rng: f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
    "port": lambda rng: str(rng.randrange(1024, 65536)),
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128))),
    "aws_id": lambda rng: "AKIA" + _alnum(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
    "aws_secret": lambda rng: _alnum(rng, 40),
    "jwt": lambda rng: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi" + _alnum(rng, 24) + "." + _alnum(rng, 43),
    "password": lambda rng: _alnum(rng, 14) + "!x",
    "email": lambda rng: f"user.{_alnum(rng, 8).lower()}@example.com",
    "card": lambda rng: _luhn_complete("4" + "".join(rng.choice("0123456789") for _ in range(14))),
    "github": lambda rng: "ghp_" + _alnum(rng, 36),
    "alnum24": lambda rng: _alnum(rng, 24),
    "ipv6": lambda rng: f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}",
    "pem_body": lambda rng: "\n".join(_alnum(rng, 64) for _ in range(25)),
    "k8s_b64": lambda rng: base64.b64encode(f"postgres://app:{_alnum(rng, 12)}@db/app".encode()).decode(),
    "hex64": lambda rng: _alnum(rng, 64, "0123456789abcdef"),
    "hex32": lambda rng: _alnum(rng, 32, "0123456789abcdef"),
    "iban": lambda rng: _iban(rng),
}
"""How to draw a fresh value for each field a template may use; secrets are unique so each is checkable."""
_FIELD_NAME = re.compile(r"(?<!\{)\{([a-z0-9_]+)\}")


def _fields(rng: random.Random, template: str) -> dict[str, str]:
    """Fresh values for the fields `template` uses (drawing all of them for every line is the slow part)."""
    return {name: FIELDS[name](rng) for name in sorted(set(_FIELD_NAME.findall(template)))}


SECRET_FIELDS = ("aws_id", "aws_secret", "jwt", "password", "email", "card", "github", "pem_body", "k8s_b64",
                 "hex64", "hex32", "iban")  # fmt: skip


def _iban(rng: random.Random) -> str:
    """A German IBAN (22 characters) with a valid mod-97 check."""
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def loghub_lines(directory: Path, rng: random.Random) -> list[str]:
    """Every line of every `*.log` under `directory`, shuffled so every chunk mixes formats."""
    lines = [
        line
        for path in sorted(directory.rglob("*.log"))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line
    ]
    if not lines:
        raise SystemExit(f"no *.log lines under {directory}")
    rng.shuffle(lines)
    return lines


def generate_log(megabytes: float, seed: int, loghub: Path | None = None) -> tuple[str, list[str]]:
    """The log text and the secret values planted in it."""
    rng = random.Random(seed)
    real_lines = loghub_lines(loghub, rng) if loghub else []
    lines: list[str] = []
    planted: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        if len(lines) % SECRET_EVERY_LINES == SECRET_EVERY_LINES - 1:
            template = rng.choice(SECRET_LINES)
            fields = _fields(rng, template)
            planted.extend(fields[name] for name in SECRET_FIELDS if name in fields)
            line = template.format(**fields)
        elif real_lines:
            line = real_lines[len(lines) % len(real_lines)]
        else:
            template = rng.choice(ORDINARY_LINES)
            line = template.format(**_fields(rng, template))
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n", planted


def line_aligned_chunks(text: str, size: int) -> list[str]:
    chunks = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        chunks.append(text[start:end])
        start = end
    return chunks


def timed(action: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=10.0, help="size of the generated log")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--loghub", type=Path, help="directory of real *.log files for the ordinary lines")
    args = parser.parse_args()

    text, planted = generate_log(args.mb, args.seed, args.loghub)
    megabytes = len(text.encode()) / 1_000_000
    chunks = line_aligned_chunks(text, CHUNK_BYTES)
    lines = text.splitlines(keepends=True)
    sanitizer = Sanitizer()
    ipv4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")

    def sanitize_chunks() -> str:
        mask_map: dict[str, str] = {}
        return "".join(sanitizer.sanitize(chunk, mask_map) for chunk in chunks)

    def sanitize_lines() -> str:
        mask_map: dict[str, str] = {}
        return "".join(sanitizer.sanitize(line, mask_map) for line in lines)

    results = {
        "baseline: splitlines + join": timed(lambda: "\n".join(text.splitlines())),
        "baseline: one IPv4 re.sub": timed(lambda: ipv4.sub("<IP>", text)),
        "sanitize, 1 MiB chunks": timed(sanitize_chunks),
        "sanitize, line by line": timed(sanitize_lines, repeat=1),
        "redact, 1 MiB chunks": timed(lambda: [redact(chunk) for chunk in chunks]),
    }

    mask_map: dict[str, str] = {}
    masked = "".join(sanitizer.sanitize(chunk, mask_map) for chunk in chunks)
    leaked = [value for value in planted if value in masked]
    round_trips = sanitizer.restore(masked, mask_map) == text

    print(
        f"log: {megabytes:.1f} MB, {len(lines)} lines, {len(planted)} planted secrets, {len(chunks)} chunks"
    )
    splitlines_rate = megabytes / results["baseline: splitlines + join"]
    regex_rate = megabytes / results["baseline: one IPv4 re.sub"]
    for name, seconds in results.items():
        rate = megabytes / seconds
        print(
            f"{name:30s} {seconds:7.3f} s {rate:8.1f} MB/s   "
            f"x{rate / splitlines_rate:.3f} of splitlines+join, x{rate / regex_rate:.3f} of one re.sub"
        )
    print(
        f"mask_map entries: {len(mask_map)}; leaked planted secrets: {len(leaked)}; round trip: {round_trips}"
    )
    if leaked or not round_trips:
        sys.exit(1)


if __name__ == "__main__":
    main()
