"""No secret in a case (initial message, queries, conversation context) ever reaches the LLM; masks that
come back in the answer are restored for the case's own user."""

from __future__ import annotations

import re

from tests.conftest import llm_environ
from tests.fakes.fake_llm import RecordedRequest, structured

SECRETS = {
    "aws_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "url_password": "s3cr3tP4ss!",
    "kv_password": "hunter2-prod-Z9",
    "email": "oncall.lead@example.com",
    "ip": "10.42.17.201",
    "card": "4111111111111111",
    "pem_body": "MIIEowIBAAKCAQEA7bq98D1xZkVb0Q2Ypr4wZtYQdDvuS3s",
}

CORPUS = f"""Incident notes:
aws_access_key_id = {SECRETS['aws_key']}
aws_secret_access_key = {SECRETS['aws_secret']}
export GITHUB_TOKEN={SECRETS['github']}
Authorization: Bearer {SECRETS['jwt']}
DATABASE_URL=postgresql://app:{SECRETS['url_password']}@db.internal:5432/orders
password={SECRETS['kv_password']}
paged {SECRETS['email']} from host {SECRETS['ip']}
customer card {SECRETS['card']} was charged twice
-----BEGIN RSA PRIVATE KEY-----
{SECRETS['pem_body']}
-----END RSA PRIVATE KEY-----
"""


def echo_first_email_mask(request: RecordedRequest) -> object:
    text = str(request.body)
    mask = re.search(r"<EMAIL_\d+>", text)
    return structured({"content": f"Ask {mask.group(0) if mask else 'nobody'} to rotate the keys.",
                       "response_type": "ANSWER"})


async def test_secrets_corpus_never_reaches_the_llm(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case = await http.post("/api/v1/cases", json={"initial_message": CORPUS})
    case_id = case.json()["case"]["case_id"]
    fake_llm.script(echo_first_email_mask, echo_first_email_mask)
    first = await http.post(f"/api/v1/cases/{case_id}/queries",
                            json={"query": f"Why did {SECRETS['email']} get paged? key {SECRETS['aws_key']}"})
    second = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "And what next?"})
    assert first.status_code == second.status_code == 201
    sent = fake_llm.all_text()
    assert "<EMAIL_1>" in sent
    leaked = {name: value for name, value in SECRETS.items() if value in sent}
    assert leaked == {}
    assert first.json()["content"] == f"Ask {SECRETS['email']} to rotate the keys."
    stored = (await http.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    assert stored[0]["content"] == CORPUS
    assert stored[2]["content"] == f"Ask {SECRETS['email']} to rotate the keys."
