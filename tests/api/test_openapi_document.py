"""The OpenAPI document says what every operation answers: integrators and the browser extension read it."""

from __future__ import annotations

import pytest

from faultmaven.config.settings import Settings
from faultmaven.container import Container
from faultmaven.main import create_app

PROBLEM = "application/problem+json"


def _document(**settings: object) -> dict:
    return create_app(container=Container(Settings(**settings))).openapi()  # type: ignore[arg-type]


def _operations(document: dict):  # type: ignore[no-untyped-def]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_declares_a_success_body_or_no_content() -> None:
    missing = []
    for name, operation in _operations(_document()):
        successes = {status: body for status, body in operation["responses"].items() if status[0] == "2"}
        assert successes, name
        for status, body in successes.items():
            if status == "204":
                assert "content" not in body, name
                continue
            schemas = [media.get("schema") for media in body.get("content", {}).values()]
            if not schemas or any(schema in (None, {}) for schema in schemas):
                missing.append(f"{name} {status}")
            for schema in schemas:
                is_free_form = schema == {"type": "object", "additionalProperties": True}
                if is_free_form:
                    missing.append(f"{name} {status} (free-form)")
    assert not missing, missing


def test_key_operations_have_named_models() -> None:
    document = _document()
    paths = document["paths"]

    def ref(path: str, method: str, status: str) -> str:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert ref("/api/v1/cases", "post", "201").endswith("/CaseEnvelope")
    assert ref("/api/v1/cases/{case_id}/queries", "post", "201").endswith("/AgentResponse")
    assert ref("/api/v1/cases/{case_id}/queries", "post", "202").endswith("/QueryAccepted")
    assert ref("/api/v1/cases/{case_id}/queries/{query_id}", "get", "200").endswith("/QueryStatus")
    assert ref("/api/v1/cases/{case_id}/data", "post", "201").endswith("/UploadedEvidence")
    assert ref("/api/v1/auth/login", "post", "200").endswith("/LoginOut")


def test_errors_are_problem_json_with_a_shared_schema() -> None:
    document = _document()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for name, operation in _operations(document):
        errors = {status: body for status, body in operation["responses"].items() if status[0] in "45"}
        assert "503" in errors, name
        for status, body in errors.items():
            assert list(body["content"]) == [PROBLEM], f"{name} {status}"
            assert body["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if operation.get("security"):
            assert {"401", "403"} <= set(errors), name
        if "{" in name:
            assert "404" in errors, name
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(errors), name


@pytest.mark.parametrize(("mode", "anonymous"), [("token", False), ("local", True)])
def test_bearer_scheme_is_declared_and_optional_only_in_local_mode(mode: str, anonymous: bool) -> None:
    document = _document(auth_mode=mode)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    security = document["paths"]["/api/v1/cases"]["post"]["security"]
    assert {"bearer": []} in security
    assert ({} in security) is anonymous
    assert "security" not in document["paths"]["/health"]["get"]
    assert "security" not in document["paths"]["/api/v1/auth/login"]["post"]


def test_streaming_operations_declare_event_stream() -> None:
    paths = _document()["paths"]
    events = paths["/api/v1/cases/{case_id}/queries/{query_id}/events"]["get"]["responses"]["200"]
    assert list(events["content"]) == ["text/event-stream"]
    submit = paths["/api/v1/cases/{case_id}/queries"]["post"]["responses"]
    assert list(submit["200"]["content"]) == ["text/event-stream"]
    assert list(submit["201"]["content"]) == ["application/json"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"auth_mode": "local", "password": False, "dev_login": True, "sign_in_required": False}),
        ({"auth_mode": "token"}, {"auth_mode": "token", "password": True, "dev_login": False,
                                  "sign_in_required": True}),
        ({"auth_mode": "token", "dev_login": True}, {"password": True, "dev_login": True}),
    ],
)
async def test_sign_in_methods_are_public_and_follow_the_settings(
    app_with, overrides: dict, expected: dict
) -> None:
    http, _ = await app_with(kb_load_starter=False, **overrides)
    response = await http.get("/api/v1/auth/methods")
    assert response.status_code == 200
    body = response.json()
    assert body["api_token"] is True
    assert {name: body[name] for name in expected} == expected
