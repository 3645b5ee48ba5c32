"""Property tests: whatever a client throws at the API, the answer is never a 5xx and always a problem
document with a string `detail` when it is an error."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
CASE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "title": JSON_VALUES,
        "description": JSON_VALUES,
        "priority": JSON_VALUES,
        "session_id": JSON_VALUES,
        "initial_message": JSON_VALUES,
        "metadata": JSON_VALUES,
        "status": JSON_VALUES,
    },
)
QUERY_PARAMS = st.dictionaries(
    st.sampled_from(["limit", "offset", "status", "priority", "q", "bogus"]),
    st.text(max_size=20) | st.integers(min_value=-(10**12), max_value=10**12).map(str),
    max_size=4,
)
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_not_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert isinstance(response.json()["detail"], str)


@PROPERTY_SETTINGS
@given(body=CASE_FIELDS | JSON_VALUES)
async def test_case_create_and_update_bodies(client: httpx.AsyncClient, body: object) -> None:
    created = await client.post(
        "/api/v1/cases", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert_not_server_error(created)
    case_id = created.json()["case"]["case_id"] if created.status_code == 201 else "case_missing"
    for method in ("PUT", "PATCH"):
        assert_not_server_error(await client.request(method, f"/api/v1/cases/{case_id}", json=body))
    assert_not_server_error(await client.post(f"/api/v1/cases/{case_id}/title", json=body))
    assert_not_server_error(await client.post(f"/api/v1/cases/{case_id}/queries", json=body))


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=200))
async def test_raw_bytes_as_json(client: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/api/v1/cases", "/api/v1/sessions", "/api/v1/auth/dev-login"):
        assert_not_server_error(
            await client.post(path, content=raw, headers={"content-type": "application/json"})
        )


@PROPERTY_SETTINGS
@given(params=QUERY_PARAMS, case_id=st.text(min_size=1, max_size=80))
async def test_query_strings_and_ids(client: httpx.AsyncClient, params: dict[str, str], case_id: str) -> None:
    assert_not_server_error(await client.get("/api/v1/cases", params=params))
    encoded = f"/api/v1/cases/{quote(case_id, safe='')}"
    assert_not_server_error(await client.get(encoded))
    assert_not_server_error(await client.get(f"{encoded}/messages", params=params))
    assert_not_server_error(await client.get(f"{encoded}/queries", params=params))
    assert_not_server_error(await client.get("/api/v1/sessions/" + encoded.rsplit("/", 1)[-1]))
