"""The Cases and Messages API of the contract, on every engine."""

from __future__ import annotations

import httpx
import pytest

PROBLEM = "application/problem+json"


async def create_case(client: httpx.AsyncClient, **body: object) -> dict:
    response = await client.post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()["case"]


async def test_create_case_returns_envelope_location_and_title(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/cases/",
        json={"description": "System showing errors", "initial_message": "Getting 500 errors on API calls"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] == "3.1.0"
    case = body["case"]
    assert response.headers["location"] == f"/api/v1/cases/{case['case_id']}"
    assert case["title"] == "Getting 500 errors on API calls"
    assert case["status"] == "active" and case["priority"] == "medium"
    assert case["message_count"] == 1
    assert not case["case_id"].startswith("opt_")
    for field in ("owner_id", "created_at", "updated_at", "last_activity_at", "expires_at", "metadata"):
        assert field in case
    assert case["created_at"].endswith(("Z", "+00:00"))
    messages = (await client.get(f"/api/v1/cases/{case['case_id']}/messages")).json()
    assert [m["role"] for m in messages["messages"]] == ["user"]
    assert messages["messages"][0]["content"] == "Getting 500 errors on API calls"


async def test_create_case_without_any_text_still_has_a_title(client: httpx.AsyncClient) -> None:
    case = await create_case(client)
    assert case["title"].startswith("Case ")
    assert case["message_count"] == 0


async def test_list_is_bare_array_newest_activity_first_with_paging_headers(
    client: httpx.AsyncClient,
) -> None:
    ids = [(await create_case(client, title=f"case {index}"))["case_id"] for index in range(5)]
    response = await client.get("/api/v1/cases", params={"limit": 2})
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert [case["case_id"] for case in response.json()] == ids[::-1][:2]
    assert response.headers["x-total-count"] == "5"
    assert 'rel="next"' in response.headers["link"] and 'rel="prev"' not in response.headers["link"]
    last = await client.get("/api/v1/cases", params={"limit": 2, "offset": 4})
    assert [case["case_id"] for case in last.json()] == [ids[0]]
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]


async def test_list_filters(client: httpx.AsyncClient) -> None:
    await create_case(client, title="Disk full on db-1", priority="high")
    await create_case(client, title="Slow checkout", description="p95 latency 4s on checkout")
    second = await create_case(client, title="TLS expiry")
    await client.patch(f"/api/v1/cases/{second['case_id']}", json={"status": "investigating"})
    assert [c["title"] for c in (await client.get("/api/v1/cases?priority=high")).json()] == [
        "Disk full on db-1"
    ]
    assert [c["title"] for c in (await client.get("/api/v1/cases?status=investigating")).json()] == [
        "TLS expiry"
    ]
    assert [c["title"] for c in (await client.get("/api/v1/cases?q=LATENCY")).json()] == ["Slow checkout"]
    assert (await client.get("/api/v1/cases?q=100%25")).json() == []


async def test_get_update_and_lifecycle(client: httpx.AsyncClient) -> None:
    case = await create_case(client, title="Original")
    url = f"/api/v1/cases/{case['case_id']}"
    assert (await client.get(url)).json()["title"] == "Original"
    updated = await client.put(
        url, json={"title": "Renamed", "priority": "critical", "status": "investigating"}
    )
    assert updated.status_code == 200
    assert updated.json()["title"] == "Renamed" and updated.json()["priority"] == "critical"
    assert (await client.patch(url, json={"status": "resolved"})).json()["status"] == "resolved"
    assert (await client.patch(url, json={"status": "closed"})).json()["status"] == "closed"
    assert (await client.patch(url, json={"status": "archived"})).json()["status"] == "archived"
    illegal = await client.patch(url, json={"status": "active"})
    assert illegal.status_code == 409
    assert illegal.headers["content-type"] == PROBLEM
    assert illegal.json()["code"] == "INVALID_STATUS_TRANSITION"
    assert illegal.json()["allowed_transitions"] == []
    assert (await client.get(url)).json()["status"] == "archived"


async def test_illegal_transition_lists_allowed_targets(client: httpx.AsyncClient) -> None:
    case = await create_case(client)
    url = f"/api/v1/cases/{case['case_id']}"
    await client.patch(url, json={"status": "resolved"})
    response = await client.patch(url, json={"status": "active"})
    assert response.status_code == 409
    assert response.json()["allowed_transitions"] == ["archived", "closed", "investigating"]
    assert isinstance(response.json()["detail"], str)


async def test_delete_is_idempotent_and_cascades(client: httpx.AsyncClient) -> None:
    case = await create_case(client, initial_message="the api returns 502 on every request")
    url = f"/api/v1/cases/{case['case_id']}"
    assert (await client.delete(url)).status_code == 204
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"{url}/messages")).status_code == 404


async def test_unknown_case_is_a_problem_404(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", ""), ("PATCH", ""), ("GET", "/messages"), ("POST", "/title")]:
        response = await client.request(method, f"/api/v1/cases/case_nope{path}", json={})
        assert response.status_code == 404, (method, path)
        body = response.json()
        assert body["code"] == "CASE_NOT_FOUND" and isinstance(body["detail"], str)


async def test_messages_pagination_envelope(client: httpx.AsyncClient, container) -> None:
    from faultmaven.models.case import CaseMessage, MessageType

    case = await create_case(client)
    for index in range(7):
        kind = MessageType.USER_QUERY if index % 2 == 0 else MessageType.AGENT_RESPONSE
        await container.case_service.add_message_to_case(
            case["case_id"], CaseMessage(case_id=case["case_id"], message_type=kind, content=f"m{index}")
        )
    page = (
        await client.get(f"/api/v1/cases/{case['case_id']}/messages", params={"limit": 3, "offset": 3})
    ).json()
    assert [m["content"] for m in page["messages"]] == ["m3", "m4", "m5"]
    assert [m["role"] for m in page["messages"]] == ["agent", "user", "agent"]
    assert page["total_count"] == 7 and page["retrieved_count"] == 3
    assert page["has_more"] is True and page["next_offset"] == 6
    assert all(m["message_id"] for m in page["messages"])
    end = (await client.get(f"/api/v1/cases/{case['case_id']}/messages", params={"offset": 6})).json()
    assert end["has_more"] is False and end["next_offset"] is None


async def test_title_from_user_text_without_llm(client: httpx.AsyncClient) -> None:
    case = await create_case(
        client, initial_message="Checkout service returns HTTP 502 after the 14:00 deploy"
    )
    response = await client.post(f"/api/v1/cases/{case['case_id']}/title", json={"max_words": 5})
    assert response.status_code == 200
    assert response.headers["x-title-source"] == "fallback"
    assert response.json() == {"schema_version": "3.1.0", "title": "Checkout service returns HTTP 502…"}
    assert (await client.get(f"/api/v1/cases/{case['case_id']}")).json()["title"] == response.json()["title"]


async def test_title_keeps_a_user_given_title(client: httpx.AsyncClient) -> None:
    case = await create_case(client, title="Payments outage", initial_message="payments fail with 503 errors")
    response = await client.post(f"/api/v1/cases/{case['case_id']}/title")
    assert response.headers["x-title-source"] == "existing"
    assert response.json()["title"] == "Payments outage"


async def test_title_needs_context(client: httpx.AsyncClient) -> None:
    case = await create_case(client, initial_message="help?")
    response = await client.post(f"/api/v1/cases/{case['case_id']}/title", json={})
    assert response.status_code == 422
    assert response.json()["code"] == "INSUFFICIENT_CONTEXT"


@pytest.mark.parametrize("max_words", [2, 13, "x"])
async def test_title_bounds(client: httpx.AsyncClient, max_words: object) -> None:
    case = await create_case(client)
    response = await client.post(f"/api/v1/cases/{case['case_id']}/title", json={"max_words": max_words})
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_session_id_header_is_used_when_body_omits_it(client: httpx.AsyncClient) -> None:
    session = (await client.post("/api/v1/sessions", json={})).json()
    response = await client.post("/api/v1/cases", json={}, headers={"X-Session-Id": session["session_id"]})
    assert response.json()["case"]["session_id"] == session["session_id"]
    listed = await client.get(f"/api/v1/sessions/{session['session_id']}/cases")
    assert [c["case_id"] for c in listed.json()] == [response.json()["case"]["case_id"]]
    assert listed.headers["x-total-count"] == "1"
