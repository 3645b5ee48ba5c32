"""Rule-based classification: one realistic sample per data type."""

from __future__ import annotations

import pytest

from faultmaven.services.evidence import DataType, classify

JAVA_LOG = "\n".join(
    f"2024-05-01 10:00:{i:02d},123 INFO [main] com.acme.Service: handled request {i} in {i * 3} ms"
    for i in range(40)
)
SYSLOG = "\n".join(f"May  1 10:00:{i:02d} web-1 nginx[812]: upstream timed out id={i}" for i in range(30))
JSON_LOG = "\n".join(f'{{"ts": "2024-05-01T10:00:{i:02d}Z", "level": "info", "n": {i}}}' for i in range(30))
PY_TRACE = """Traceback (most recent call last):
  File "/app/server.py", line 42, in handle
    result = db.query(sql)
  File "/app/db.py", line 88, in query
    conn = self.pool.get(timeout=5)
  File "/usr/lib/python3.11/queue.py", line 179, in get
    raise Empty
queue.Empty
"""
JAVA_TRACE = """java.lang.IllegalStateException: pool exhausted
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)
\tat com.acme.orders.OrderService.ship(OrderService.java:55)
\tat java.base/java.lang.Thread.run(Thread.java:833)
Caused by: java.sql.SQLTransientConnectionException: timeout
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
\t... 12 more
"""
GO_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]

goroutine 1 [running]:
main.(*Server).handle(0x0, 0xc000010000)
\t/src/server.go:42 +0x1c
main.main()
\t/src/main.go:12 +0x25
"""
YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: api
          image: acme/api:1.2.3
"""
JSON_CONFIG = '{\n  "database": {"host": "db", "port": 5432},\n  "pool": {"max": 20}\n}\n'
INI = "[database]\nhost = db\nport = 5432\n\n[pool]\nmax = 20\n# comment\n"
TOML = '[server]\nport = 8080\nhost = "0.0.0.0"\n\n[server.tls]\nenabled = true\n'
ENV = "DATABASE_URL=postgres://db/app\nPOOL_MAX=20\nLOG_LEVEL=info\nexport FEATURE_X=1\n"
PROMETHEUS = """# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"} 3 1395066363000
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.1e+07
go_goroutines 42
"""
CSV = "timestamp,cpu,mem,latency_ms\n" + "\n".join(f"{1714550400 + i},{i}.5,{40 + i},{i}" for i in range(20))
KUBECTL_GET = """NAME                      READY   STATUS             RESTARTS   AGE
api-7d9c8b6f5-2xk8p       1/1     Running            0          3d
api-7d9c8b6f5-9fj2l       0/1     CrashLoopBackOff   12         3d
worker-5c6d7e8f9-abcde    1/1     Running            1          1d
"""
KUBECTL_DESCRIBE = """Name:             api-7d9c8b6f5-9fj2l
Namespace:        prod
Priority:         0
Node:             node-3/10.0.3.7
Start Time:       Wed, 01 May 2024 10:00:00 +0000
Labels:           app=api
Status:           Running
Containers:
  api:
    Image:          acme/api:1.2.3
    State:          Waiting
      Reason:       CrashLoopBackOff
Events:
  Type     Reason   Age                From     Message
  ----     ------   ----               ----     -------
  Warning  BackOff  2m (x50 over 3h)   kubelet  Back-off restarting failed container
"""
AWS_TABLE = """-----------------------------------------------------------
|                    DescribeInstances                    |
+----------------------+---------------+------------------+
|      InstanceId      |     State     |      Type        |
+----------------------+---------------+------------------+
|  i-0abc123def456789a |  running      |  t3.medium       |
|  i-0def456abc789123b |  stopped      |  t3.large        |
+----------------------+---------------+------------------+
"""
PYTHON_SOURCE = '''import os
from dataclasses import dataclass


@dataclass
class Pool:
    size: int

    def acquire(self):
        if self.size <= 0:
            raise RuntimeError("pool exhausted")
        self.size -= 1
        return self.size
'''
GO_SOURCE = """package main

import "fmt"

func main() {
\tfor i := 0; i < 3; i++ {
\t\tfmt.Println(i)
\t}
}
"""
PROSE = """We saw elevated latency after the deploy on Tuesday afternoon.
The on-call engineer rolled back at around three, which helped a little.
Customers in the EU region were affected the most, according to support.
"""


@pytest.mark.parametrize(
    ("text", "filename", "data_type", "detail"),
    [
        (JAVA_LOG, "app.log", DataType.LOG, None),
        (SYSLOG, "syslog", DataType.LOG, None),
        (JSON_LOG, "events.jsonl", DataType.LOG, None),
        (PY_TRACE, "trace.txt", DataType.STACK_TRACE, None),
        (JAVA_TRACE, None, DataType.STACK_TRACE, None),
        (GO_PANIC, None, DataType.STACK_TRACE, None),
        (YAML, "deployment.yaml", DataType.CONFIG, "yaml"),
        (YAML, None, DataType.CONFIG, "yaml"),
        (JSON_CONFIG, "config.json", DataType.CONFIG, "json"),
        (INI, "app.ini", DataType.CONFIG, "ini"),
        (TOML, "app.toml", DataType.CONFIG, "ini"),
        (ENV, ".env", DataType.CONFIG, "env"),
        (PROMETHEUS, "metrics.txt", DataType.METRICS_DUMP, "prometheus"),
        (CSV, "metrics.csv", DataType.METRICS_DUMP, "csv"),
        (KUBECTL_GET, None, DataType.CLI_OUTPUT, "kubectl get"),
        (KUBECTL_DESCRIBE, None, DataType.CLI_OUTPUT, "kubectl describe"),
        (AWS_TABLE, None, DataType.CLI_OUTPUT, "table"),
        (PYTHON_SOURCE, "pool.py", DataType.SOURCE_CODE, None),
        (GO_SOURCE, None, DataType.SOURCE_CODE, None),
        (PROSE, "notes.txt", DataType.PLAIN_TEXT, None),
    ],
)
def test_classification_table(text: str, filename: str | None, data_type: str, detail: str | None) -> None:
    result = classify(text.splitlines(), filename, complete=True)
    assert result.data_type == data_type, result
    assert 0.0 <= result.confidence <= 1.0
    if detail is not None:
        assert result.detail == detail
    if data_type != DataType.PLAIN_TEXT:
        assert result.confidence >= 0.5


def test_empty_sample_is_plain_text() -> None:
    assert classify([], "x").data_type == DataType.PLAIN_TEXT


def test_classification_is_fast_on_its_sample() -> None:
    import time

    lines = (JAVA_LOG + "\n").splitlines() * 50
    started = time.perf_counter()
    for _ in range(20):
        classify(lines, "app.log")
    assert (time.perf_counter() - started) / 20 < 0.05
