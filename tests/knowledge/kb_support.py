"""Helpers shared by the knowledge-base tests."""

from __future__ import annotations

import httpx

from faultmaven.container import Container

POOL_RUNBOOK = """# Pool exhaustion at Acme

## Symptoms

QueuePool limit of size 10 overflow 20 reached on the billing service.

## Fix

Raise `max_connections` and kill idle transactions:

```sql
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction';
```
"""


async def user_client(app: httpx.AsyncClient, container: Container, name: str, *, admin: bool = False):
    """A client of the same app authenticated as a new user (token auth mode)."""
    user = await container.auth_service.create_user(name, admin=admin)
    token = await container.auth_service.issue_token(user.user_id)
    client = httpx.AsyncClient(
        transport=app._transport, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"}
    )
    return client, user


async def create_document(http: httpx.AsyncClient, **body: object) -> dict:
    body.setdefault("title", "Pool exhaustion at Acme")
    body.setdefault("content", POOL_RUNBOOK)
    body.setdefault("document_type", "playbook")
    response = await http.post("/api/v1/knowledge/documents", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def search(http: httpx.AsyncClient, query: str, **body: object) -> dict:
    response = await http.post("/api/v1/knowledge/search", json={"query": query, **body})
    assert response.status_code == 200, response.text
    return response.json()
