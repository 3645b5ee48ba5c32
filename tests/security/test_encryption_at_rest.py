"""One model for originals (issue 11, items 8 and 9): evidence (names included) is stored masked, the
per-case map of originals is encrypted at rest, case members read their own data restored, and keys
rotate. A copied SQLite file shows none of the originals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from faultmaven.config.startup import StartupError
from faultmaven.container import Container
from faultmaven.infrastructure.persistence.key_rotation import reencrypt_originals
from faultmaven.infrastructure.persistence.tables import CaseMessageRow
from faultmaven.infrastructure.security.encryption import MissingKeyError, generate_key
from faultmaven.models.case import CaseMessage, MessageType

EMAIL, ADDRESS, PASSWORD = "dana.ops@acme-corp.example", "10.42.7.19", "Pw-Hunter2-Zeta-77"
LOG = f"2026-01-02 ERROR login failed for {EMAIL} from {ADDRESS}\n2026-01-02 INFO retry ok\n"
UPLOAD = {"content": LOG, "filename": f"{EMAIL}.log", "description": f"db password={PASSWORD}"}


async def upload(http) -> tuple[str, dict]:
    case_id = (await http.post("/api/v1/cases", json={"title": "login failures"})).json()["case"]["case_id"]
    response = await http.post(f"/api/v1/cases/{case_id}/data", json=UPLOAD)
    assert response.status_code == 201, response.text
    return case_id, response.json()


async def stored_text(container: Container) -> str:
    """Everything the evidence and case tables hold, as text (what a copied database shows)."""
    statements = [
        "SELECT filename || ' ' || description FROM evidence_items",
        "SELECT text FROM evidence_chunks",
        "SELECT CAST(mask_map AS TEXT) FROM cases",
        "SELECT CAST(details AS TEXT) FROM audit_events",
    ]
    found = []
    async with container.database.read() as session:
        for statement in statements:
            found += [str(value) for value in (await session.execute(text(statement))).scalars()]
    return "\n".join(found)


async def test_members_see_originals_while_storage_holds_none(app_with) -> None:
    http, container = await app_with(kb_load_starter=False)
    case_id, created = await upload(http)
    assert created["filename"] == f"{EMAIL}.log"
    assert created["description"] == f"db password={PASSWORD}"
    item = (await http.get(f"/api/v1/cases/{case_id}/data/{created['data_id']}")).json()
    assert item["filename"] == f"{EMAIL}.log"
    listed = (await http.get(f"/api/v1/cases/{case_id}/data")).json()
    assert [entry["filename"] for entry in (listed["items"] if isinstance(listed, dict) else listed)] == [
        f"{EMAIL}.log"
    ]
    lines = (await http.get(f"/api/v1/cases/{case_id}/data/{created['data_id']}/lines")).json()
    assert EMAIL in str(lines) and ADDRESS in str(lines)
    at_rest = await stored_text(container)
    for original in (EMAIL, ADDRESS, PASSWORD):
        assert original not in at_rest
    assert '"fernet"' in at_rest
    assert await container.case_service.mask_map(case_id)
    if container.database.is_sqlite:
        await container.database.dispose()
        path = Path(make_url(container.settings.database_url).database or "")
        copied = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for original in (EMAIL, ADDRESS, PASSWORD):
            assert original.encode() not in copied


async def test_token_mode_without_a_key_does_not_start(make_settings) -> None:
    container = Container(make_settings(auth_mode="token", encryption_keys=[]))
    with pytest.raises(StartupError, match="FAULTMAVEN_ENCRYPTION_KEYS"):
        await container.start()
    await container.stop()


async def test_local_mode_generates_a_private_key_file_and_keeps_it(make_settings, tmp_path) -> None:
    key_file = tmp_path / "data" / "encryption.key"
    settings = make_settings(encryption_keys=[], encryption_key_file=key_file, kb_load_starter=False)
    first = Container(settings)
    await first.start()
    case = await first.case_service.create_case(await _owner(first), _case_input())
    await first.case_service.mask_for_llm(case.case_id, [f"mail {EMAIL}"], first.sanitizer)
    await first.stop()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text()
    second = Container(settings)
    await second.start()
    assert EMAIL in (await second.case_service.mask_map(case.case_id)).values()
    await second.stop()
    assert key_file.read_text() == key


async def test_keys_rotate_and_old_plaintext_maps_are_encrypted(make_settings) -> None:
    old_key, new_key = generate_key(), generate_key()
    before = Container(make_settings(encryption_keys=[old_key], kb_load_starter=False))
    await before.start()
    owner = await _owner(before)
    case = await before.case_service.create_case(owner, _case_input())
    await before.case_service.mask_for_llm(case.case_id, [f"from {ADDRESS}"], before.sanitizer)
    note = CaseMessage(case_id=case.case_id, message_type=MessageType.CASE_NOTE, content=f"ask {EMAIL}")
    await before.case_service.add_message_to_case(case.case_id, note)
    legacy = await before.case_service.create_case(owner, _case_input())
    async with before.database.write() as session:
        await session.execute(
            text("UPDATE cases SET mask_map = :plain WHERE case_id = :case_id"),
            {"plain": json.dumps({"<EMAIL_1>": EMAIL}), "case_id": legacy.case_id},
        )
    await before.stop()

    new_only = Container(make_settings(encryption_keys=[new_key], kb_load_starter=False))
    await new_only.start()
    with pytest.raises(MissingKeyError):
        await new_only.case_service.mask_map(case.case_id)
    await new_only.stop()

    rotating = Container(make_settings(encryption_keys=[new_key, old_key], kb_load_starter=False))
    await rotating.start()
    assert ADDRESS in (await rotating.case_service.mask_map(case.case_id)).values()
    assert await reencrypt_originals(rotating.database) >= 2
    assert EMAIL not in await stored_text(rotating)
    await rotating.stop()

    after = Container(make_settings(encryption_keys=[new_key], kb_load_starter=False))
    await after.start()
    assert ADDRESS in (await after.case_service.mask_map(case.case_id)).values()
    assert (await after.case_service.mask_map(legacy.case_id)) == {"<EMAIL_1>": EMAIL}
    async with after.database.read() as session:
        contents = (await session.execute(select(CaseMessageRow.content))).scalars().all()
    assert f"ask {EMAIL}" in contents
    await after.stop()


async def _owner(container: Container) -> str:
    return (await container.auth_service.create_user("rotator")).user_id


def _case_input():
    from faultmaven.services.cases.service import CaseCreate

    return CaseCreate(title="rotation")


def test_cli_generates_keys_and_rotates(tmp_path, monkeypatch) -> None:
    from cryptography.fernet import Fernet
    from typer.testing import CliRunner

    from faultmaven.cli import app

    runner = CliRunner()
    generated = runner.invoke(app, ["keys", "generate"])
    assert generated.exit_code == 0
    key = generated.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    monkeypatch.setenv("FAULTMAVEN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FAULTMAVEN_KB_LOAD_STARTER", "false")
    monkeypatch.setenv("FAULTMAVEN_ENCRYPTION_KEYS", f"{generate_key()},{key}")
    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted with the first key" in rotated.stdout


async def test_the_conversation_is_stored_encrypted_and_read_back_plain(app_with, fake_llm) -> None:
    """The user's own words and the restored answer are originals too: messages, the query row and its
    events, and the idempotent replay are encrypted at rest, and read back as they were."""
    from tests.conftest import llm_environ
    from tests.fakes.fake_llm import structured

    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, container = await app_with(llm_providers=providers, environ=environ, kb_load_starter=False)
    question = f"why does {EMAIL} fail to log in from {ADDRESS}?"
    answer = "Rotate the credentials of the service account used by the nightly-sync job."
    fake_llm.script(structured({"content": answer, "response_type": "ANSWER"}))
    case_id = (await http.post("/api/v1/cases", json={"title": "login failures"})).json()["case"]["case_id"]
    headers = {"Idempotency-Key": "conversation-at-rest-1"}
    body = {"query": question}
    first = await http.post(f"/api/v1/cases/{case_id}/queries", json=body, headers=headers)
    assert first.status_code == 201 and first.json()["content"] == answer
    replay = await http.post(f"/api/v1/cases/{case_id}/queries", json=body, headers=headers)
    assert replay.json() == first.json()
    messages = (await http.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    assert [m["content"] for m in messages] == [question, answer]
    polled = (await http.get(first.headers["location"])).json()
    assert polled["response"]["content"] == answer

    async with container.database.read() as session:
        raw = [
            str(value)
            for statement in (
                "SELECT content FROM case_messages",
                "SELECT query || CAST(request AS TEXT) || CAST(response AS TEXT) FROM queries",
                "SELECT CAST(data AS TEXT) FROM query_events",
                "SELECT response_body FROM idempotency_records",
            )
            for value in (await session.execute(text(statement))).scalars()
        ]
    assert raw and all("fernet" in value for value in raw)
    for original in (EMAIL, ADDRESS, "nightly-sync"):
        assert not any(original in value for value in raw)
