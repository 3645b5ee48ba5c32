"""Helpers shared by the evidence tests: cases, uploads and generated logs."""

from __future__ import annotations

import httpx

FAILURE_LINE = 1234
FAILURE_TEXT = "ERROR [pool-7] db.Pool: connection pool exhausted after 30000 ms (active=50, idle=0)"


async def open_case(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/v1/cases", json={"title": "Checkout 500s"})
    assert response.status_code == 201
    return response.json()["case"]["case_id"]


async def upload_file(
    http: httpx.AsyncClient, case_id: str, name: str, data: bytes, **fields: str
) -> httpx.Response:
    return await http.post(f"/api/v1/cases/{case_id}/data", files={"file": (name, data)}, data=fields)


def log_line(number: int) -> str:
    minute, second = divmod(number, 60)
    stamp = f"2024-05-01 10:{minute % 60:02d}:{second:02d},{number % 1000:03d}"
    if number == FAILURE_LINE:
        return f"{stamp} {FAILURE_TEXT}"
    if number % 97 == 0:
        return f"{stamp} WARN [http-{number % 8}] api.Handler: slow /orders/{number} took {number % 900} ms"
    return f"{stamp} INFO [http-{number % 8}] api.Handler: GET /orders/{number} 200 in {number % 50} ms"


def generated_log(lines: int) -> bytes:
    """A Java-style service log; line FAILURE_LINE (1-based) holds the pool-exhaustion error."""
    return ("\n".join(log_line(number) for number in range(1, lines + 1)) + "\n").encode()


def multipart_body(boundary: str, filename: str, data: bytes, description: str = "") -> bytes:
    parts = [
        f"--{boundary}\r\n".encode(),
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode(),
        b"Content-Type: text/plain\r\n\r\n",
        data,
        b"\r\n",
    ]
    if description:
        parts += [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="description"\r\n\r\n',
            description.encode(),
            b"\r\n",
        ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)
