# ruff: noqa: E501  (log line templates read better unbroken)
"""Background lines for the scenarios' evidence files, in a few common log styles.

Noise is what a real log is mostly made of: routine requests, health checks, cache and scheduler chatter,
and some harmless warnings and errors (decoys), so a decisive line is not simply the only error.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

PATHS = (
    "/api/orders",
    "/api/cart",
    "/api/users/me",
    "/api/catalog/items",
    "/healthz",
    "/api/search",
    "/metrics",
)
SERVICES = ("orders-api", "cart-svc", "catalog", "search", "gateway")
CLIENTS = ("192.0.2.10", "198.51.100.23", "203.0.113.7", "192.0.2.44", "198.51.100.91")


def _stamp(clock: datetime) -> str:
    return clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock.microsecond // 1000:03d}Z"


def _app(rng: random.Random, clock: datetime) -> str:
    roll = rng.random()
    thread = f"http-nio-8080-exec-{rng.randint(1, 40)}"
    if roll < 0.70:
        path = rng.choice(PATHS)
        status = rng.choice((200, 200, 200, 200, 201, 204, 304))
        message = f"{rng.choice(('GET', 'GET', 'POST'))} {path} {status} {rng.randint(2, 180)}ms"
        return render_line("app", clock, "INFO", f"{thread}] c.s.web.RequestLog", message)
    if roll < 0.85:
        message = rng.choice(
            (
                f"cache hit ratio {rng.randint(80, 99)}% ({rng.randint(1000, 9000)} keys)",
                f"scheduled job refresh-prices finished in {rng.randint(40, 900)}ms",
                f"kafka producer flushed {rng.randint(1, 60)} records",
                "feature flags reloaded (27 flags)",
            )
        )
        return render_line("app", clock, "INFO", "scheduling-1] c.s.jobs.Scheduler", message)
    if roll < 0.97:
        message = rng.choice(
            (
                f"slow request GET /api/search took {rng.randint(800, 2400)}ms",
                "retrying call to recommendations (attempt 2 of 3)",
                f"deprecated header X-Client-Version used by {rng.randint(1, 9)} clients",
            )
        )
        return render_line("app", clock, "WARN", f"{thread}] c.s.web.Middleware", message)
    message = rng.choice(
        (
            "recommendations call failed: read timed out after 800ms (fallback used)",
            "invalid coupon code submitted: SPRING-XX",
        )
    )
    return render_line("app", clock, "ERROR", f"{thread}] c.s.promo.PromoClient", message)


def _k8s(rng: random.Random, clock: datetime) -> str:
    pod = f"{rng.choice(SERVICES)}-{rng.choice(('7c9d8', '5f6b2', '84d1a'))}-{rng.randint(10000, 99999):x}"
    message = rng.choice(
        (
            f"Normal Scheduled pod/{pod} Successfully assigned prod/{pod} to node-{rng.randint(1, 6)}",
            f"Normal Pulled pod/{pod} Container image already present on machine",
            f"Normal Started pod/{pod} Started container app",
            f"Normal SuccessfulCreate replicaset/{pod[:-6]} Created pod: {pod}",
            f"Normal ScalingReplicaSet deployment/{pod.split('-')[0]} Scaled up replica set to {rng.randint(2, 6)}",
            f'Warning Unhealthy pod/{pod} Readiness probe failed: Get "http://10.1.{rng.randint(0, 9)}.7:8080/ready": '
            "context deadline exceeded",
        )
    )
    return f"{_stamp(clock)} {message}"


def _nginx(rng: random.Random, clock: datetime) -> str:
    roll = rng.random()
    if roll < 0.96:
        status = rng.choice((200, 200, 200, 200, 301, 304, 404))
        return (
            f"{rng.choice(CLIENTS)} - - [{clock.strftime('%d/%b/%Y:%H:%M:%S +0000')}] "
            f'"{rng.choice(("GET", "GET", "POST"))} {rng.choice(PATHS)} HTTP/1.1" {status} {rng.randint(200, 9000)} '
            f'"-" "Mozilla/5.0" rt={rng.randint(1, 250) / 1000:.3f}'
        )
    return render_line(
        "nginx",
        clock,
        "warn",
        "",
        rng.choice(
            (
                "an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001",
                "client intended to send too large body: 1048577 bytes",
            )
        ),
    )


def _syslog(rng: random.Random, clock: datetime) -> str:
    host = f"ip-10-0-{rng.randint(1, 3)}-{rng.randint(10, 200)}"
    message = rng.choice(
        (
            f"systemd[1]: Started Session {rng.randint(100, 999)} of user ubuntu.",
            f"CRON[{rng.randint(1000, 9999)}]: (root) CMD (/usr/local/bin/backup-rotate)",
            f'kubelet[{rng.randint(800, 900)}]: I0302 pod_workers.go:1298] "Pod is ready"',
            f'containerd[{rng.randint(600, 700)}]: time="{_stamp(clock)}" level=info msg="ImageCreate event"',
            f"sshd[{rng.randint(2000, 3000)}]: Accepted publickey for ubuntu from 192.0.2.10 port 52144 ssh2",
            "systemd-resolved[412]: Clock change detected. Flushing caches.",
        )
    )
    return f"{clock.strftime('%b %d %H:%M:%S')} {host} {message}"


def _postgres(rng: random.Random, clock: datetime) -> str:
    pid = rng.randint(1000, 9999)
    message = rng.choice(
        (
            f"LOG:  duration: {rng.randint(1, 90)}.{rng.randint(100, 999)} ms  statement: SELECT * FROM orders "
            f"WHERE id = {rng.randint(1, 99999)}",
            "LOG:  checkpoint starting: time",
            f"LOG:  checkpoint complete: wrote {rng.randint(10, 900)} buffers ({rng.randint(0, 5)}.{rng.randint(0, 9)}%)",
            'LOG:  automatic vacuum of table "shop.public.cart_items": index scans: 1',
            "LOG:  connection authorized: user=app database=shop application_name=orders-api",
            "LOG:  could not receive data from client: Connection reset by peer",
        )
    )
    return f"{clock.strftime('%Y-%m-%d %H:%M:%S.')}{clock.microsecond // 1000:03d} UTC [{pid}] {message}"


def _node(rng: random.Random, clock: datetime) -> str:
    roll = rng.random()
    if roll < 0.85:
        message = (
            f'{{"level":"info","time":"{_stamp(clock)}","msg":"request completed","method":"GET",'
            f'"url":"{rng.choice(PATHS)}","statusCode":200,"responseTime":{rng.randint(1, 120)}}}'
        )
        return message
    return (
        f'{{"level":"warn","time":"{_stamp(clock)}","msg":"'
        + rng.choice(("event loop lag 120ms", "retrying webhook delivery", "slow upstream catalog 900ms"))
        + '"}'
    )


NOISE: dict[str, Callable[[random.Random, datetime], str]] = {
    "app": _app,
    "k8s": _k8s,
    "nginx": _nginx,
    "syslog": _syslog,
    "postgres": _postgres,
    "node": _node,
}


def render_line(style: str, clock: datetime, level: str, source: str, message: str) -> str:
    """One line as the style prints it (decisive lines use this too, so they look like their neighbours)."""
    if style == "app":
        return f"{_stamp(clock)} {level:<5} [{source or 'main'}] - {message}"
    if style == "k8s":
        return f"{_stamp(clock)} {message}"
    if style == "nginx":
        return (
            f"{clock.strftime('%Y/%m/%d %H:%M:%S')} [{level.lower()}] 31#31: *{clock.second * 97} {message}"
        )
    if style == "syslog":
        return f"{clock.strftime('%b %d %H:%M:%S')} ip-10-0-2-17 {source or 'kernel'}: {message}"
    if style == "postgres":
        return f"{clock.strftime('%Y-%m-%d %H:%M:%S.')}{clock.microsecond // 1000:03d} UTC [4242] {level}:  {message}"
    return f'{{"level":"{level.lower()}","time":"{_stamp(clock)}","msg":"{message}"}}'
