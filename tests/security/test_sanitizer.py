"""The secrets/PII sanitizer: what it masks, what it leaves for the LLM, and that masks always round-trip."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from faultmaven.infrastructure.security.sanitizer import PLACEHOLDER_PATTERN, Sanitizer, redact
from faultmaven.models.interfaces import ISanitizer

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PEM_BODY = "\n".join(
    [
        "MIIEowIBAAKCAQEAx4UbaDzY7Ja0pT9ZpAbCdEfGhIjKlMnOpQrStUvWxYz01234",
        "56789+/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
        "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVkcGx1Z3g=",
    ]
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

# (text, the exact value that must be masked, the placeholder it must become)
DETECTION_TABLE = [
    ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "<AWS_ACCESS_KEY_1>"),
    ("temporary creds ASIAY34FZKBOKMUTVV7A expire soon", "ASIAY34FZKBOKMUTVV7A", "<AWS_ACCESS_KEY_1>"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "<AWS_SECRET_KEY_1>",
    ),
    (
        '{"AccessKeyId": "x", "SecretAccessKey": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "<AWS_SECRET_KEY_1>",
    ),
    (
        "maps key AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe used",
        "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
        "<GCP_API_KEY_1>",
    ),
    (
        "client 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",
        "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",
        "<GCP_CLIENT_SECRET_1>",
    ),
    ("access ya29.a0AfH6SMBx3kLq9vZc8yWm2T7nR5pQ", "ya29.a0AfH6SMBx3kLq9vZc8yWm2T7nR5pQ", "<GCP_TOKEN_1>"),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=dGhpc2lzYXNlY3JldGtleWZvcmF6dXJl==;"
        "EndpointSuffix=core.windows.net",
        "dGhpc2lzYXNlY3JldGtleWZvcmF6dXJl==",
        "<AZURE_KEY_1>",
    ),
    (
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;"
        "SharedAccessKey=q2Yb9pZ3kR7vW1xN5mT8sJ4hL6cF0aD2eG9iK3oU1yE=",
        "q2Yb9pZ3kR7vW1xN5mT8sJ4hL6cF0aD2eG9iK3oU1yE=",
        "<AZURE_KEY_1>",
    ),
    (
        "GET https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2024&sig=kX9%2Bq2Yb9pZ3kR7vW1xN5mT8s%3D",
        "kX9%2Bq2Yb9pZ3kR7vW1xN5mT8s%3D",
        "<AZURE_KEY_1>",
    ),
    (
        "GITHUB_TOKEN ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "<GITHUB_TOKEN_1>",
    ),
    (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "<GITHUB_TOKEN_1>",
    ),
    ("CI_TOKEN glpat-xYz12AbC34dEf56GhI78j clone", "glpat-xYz12AbC34dEf56GhI78j", "<GITLAB_TOKEN_1>"),
    (
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "<SLACK_TOKEN_1>",
    ),
    (
        "POST https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX failed",
        "T0000AAAA/B0000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX",
        "<SLACK_WEBHOOK_1>",
    ),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc charge", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "<STRIPE_KEY_1>"),
    (
        "OPENAI_API_KEY sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "<OPENAI_KEY_1>",
    ),
    (
        "x-api-key: sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z-AAAA",
        "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z-AAAA",
        "<ANTHROPIC_KEY_1>",
    ),
    (
        "npm token npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 ok",
        "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "<API_TOKEN_1>",
    ),
    (
        "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543",
        "8f14e45fceea167a5a36dedd4bea2543",
        "<AUTH_TOKEN_1>",
    ),
    ("authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "<AUTH_TOKEN_1>"),
    ('curl -H "Authorization: Bearer ' + JWT + '" https://api', JWT, "<JWT_1>"),
    ("session cookie " + JWT, JWT, "<JWT_1>"),
    (
        "Cookie: sessionid=abc123def456; csrftoken=zz99",
        "sessionid=abc123def456; csrftoken=zz99",
        "<COOKIE_1>",
    ),
    (
        "loaded -----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY----- done",
        "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----",
        "<PRIVATE_KEY_1>",
    ),
    (
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
        '\\n-----END PRIVATE KEY-----\\n"}',
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----",
        "<PRIVATE_KEY_1>",
    ),
    ("redis://:s3cr3tP4ss@cache.internal:6379/0", "s3cr3tP4ss", "<PASSWORD_1>"),
    ("postgresql://app:Tr0ub4dor&3@db.internal:5432/orders", "Tr0ub4dor&3", "<PASSWORD_1>"),
    ("amqp://guest:gu3st-p@ss@rabbit:5672/vhost", "gu3st-p@ss", "<PASSWORD_1>"),
    ("mongodb+srv://admin:Zx9!kq@cluster0.ab1cd.mongodb.net/db", "Zx9!kq", "<PASSWORD_1>"),
    ("Server=db01;Database=shop;User Id=sa;Password=Pa55w0rd!;", "Pa55w0rd!", "<PASSWORD_1>"),
    ("jdbc:mysql://db:3306/shop?user=root&password=hunter22&ssl=true", "hunter22", "<PASSWORD_1>"),
    ("password=hunter2 user=bob", "hunter2", "<PASSWORD_1>"),
    ("DB_PASSWORD: 'correct horse battery'", "correct horse battery", "<PASSWORD_1>"),
    ('{"password": "p4ss \\"quoted\\" word", "user": "bob"}', 'p4ss \\"quoted\\" word', "<PASSWORD_1>"),
    ('log line {\\"passwd\\":\\"hunter2\\"} end', "hunter2", "<PASSWORD_1>"),
    ("dbPassword => s3cr3t", "s3cr3t", "<PASSWORD_1>"),
    ("<password>xml-s3cret</password>", "xml-s3cret", "<PASSWORD_1>"),
    ("mysqldump --password 'sp@ce y' shop", "sp@ce y", "<PASSWORD_1>"),
    ("client_secret=8Kq2vN5xR7tY1zW3", "8Kq2vN5xR7tY1zW3", "<SECRET_1>"),
    ("api_key: 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", "<SECRET_1>"),
    ("X-Api-Key: a1b2c3d4e5f6", "a1b2c3d4e5f6", "<SECRET_1>"),
    ("refreshToken=eW91IGZvdW5kIGl0IQ", "eW91IGZvdW5kIGl0IQ", "<SECRET_1>"),
    ("auth: c2VjcmV0LXRva2Vu", "c2VjcmV0LXRva2Vu", "<SECRET_1>"),
    ("--api-key ak_live_123456", "ak_live_123456", "<SECRET_1>"),
    ("credentials = 'user:pa55'", "user:pa55", "<SECRET_1>"),
    ("mail from alice.smith+ops@example.co.uk bounced", "alice.smith+ops@example.co.uk", "<EMAIL_1>"),
    ("connect from 192.168.10.42:5432 refused", "192.168.10.42", "<IP_ADDRESS_1>"),
    ("peer [2001:db8:85a3::8a2e:370:7334]:443 reset", "2001:db8:85a3::8a2e:370:7334", "<IP_ADDRESS_1>"),
    ("peer 2001:db8:85a3:1:2:8a2e:370:7334 reset", "2001:db8:85a3:1:2:8a2e:370:7334", "<IP_ADDRESS_1>"),
    ("mapped ::ffff:10.1.2.3 ok", "::ffff:10.1.2.3", "<IP_ADDRESS_1>"),
    ("link fe80::1ff:fe23:4567:890a%eth0 up", "fe80::1ff:fe23:4567:890a", "<IP_ADDRESS_1>"),
    ("charged card 4111 1111 1111 1111 ok", "4111 1111 1111 1111", "<CREDIT_CARD_1>"),
    ("charged card=5500-0000-0000-0004 ok", "5500-0000-0000-0004", "<CREDIT_CARD_1>"),
    ("amex 378282246310005 ok", "378282246310005", "<CREDIT_CARD_1>"),
    ("amex 3782 822463 10005 ok", "3782 822463 10005", "<CREDIT_CARD_1>"),
    ("ssn: 123-45-6789", "123-45-6789", "<SSN_1>"),
    (
        "cert\nMIIEowIBAAKCAQEAx4UbaDzY7Ja0pT9ZpAbCdEfGhIjKlMnOpQrStUvWxYz01234\nnext",
        "MIIEowIBAAKCAQEAx4UbaDzY7Ja0pT9ZpAbCdEfGhIjKlMnOpQrStUvWxYz01234",
        "<BASE64_BLOB_1>",
    ),
]


@pytest.fixture
def sanitizer() -> Sanitizer:
    return Sanitizer()


def _round_trip(sanitizer: Sanitizer, text: str, mask_map: dict[str, str] | None = None) -> str:
    """Sanitize, check the output can be restored exactly, and return it."""
    mask_map = {} if mask_map is None else mask_map
    masked = sanitizer.sanitize(text, mask_map)
    assert sanitizer.restore(masked, mask_map) == text
    return masked


def test_sanitizer_satisfies_the_protocol() -> None:
    implementation: ISanitizer = Sanitizer()
    assert implementation.sanitize("nothing to hide", {}) == "nothing to hide"


@pytest.mark.parametrize(("text", "secret", "placeholder"), DETECTION_TABLE)
def test_each_kind_is_masked_and_restored(
    sanitizer: Sanitizer, text: str, secret: str, placeholder: str
) -> None:
    mask_map: dict[str, str] = {}
    masked = _round_trip(sanitizer, text, mask_map)
    assert secret not in masked
    assert placeholder in masked
    assert mask_map[placeholder] == secret


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("password=hunter2", "password="),
        ('{"db_password": "x9y8z7"}', '{"db_password": "'),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = "),
        ("postgres://app:s3cr3t@db.internal:5432/orders", "postgres://app:"),
        ("postgres://app:s3cr3t@db.internal:5432/orders", "@db.internal:5432/orders"),
        ("Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", "Authorization: Bearer "),
    ],
)
def test_keys_and_context_stay_visible(sanitizer: Sanitizer, text: str, kept: str) -> None:
    assert kept in _round_trip(sanitizer, text)


def test_same_value_gets_the_same_placeholder(sanitizer: Sanitizer) -> None:
    masked = _round_trip(sanitizer, "line 3 from 10.0.0.7\nline 90 from 10.0.0.7 and 10.0.0.8")
    assert masked == "line 3 from <IP_ADDRESS_1>\nline 90 from <IP_ADDRESS_1> and <IP_ADDRESS_2>"


def test_numbering_continues_across_calls_with_one_map(sanitizer: Sanitizer) -> None:
    mask_map: dict[str, str] = {}
    first = sanitizer.sanitize("from 10.0.0.7 by ops@example.com", mask_map)
    second = sanitizer.sanitize("from 10.0.0.9, again 10.0.0.7 by dev@example.com", mask_map)
    assert first == "from <IP_ADDRESS_1> by <EMAIL_1>"
    assert second == "from <IP_ADDRESS_2>, again <IP_ADDRESS_1> by <EMAIL_2>"
    assert sanitizer.restore(first + "|" + second, mask_map) == (
        "from 10.0.0.7 by ops@example.com|from 10.0.0.9, again 10.0.0.7 by dev@example.com"
    )


def test_numbering_continues_from_a_map_loaded_elsewhere(sanitizer: Sanitizer) -> None:
    mask_map = {"<IP_ADDRESS_1>": "10.0.0.1", "<IP_ADDRESS_4>": "10.0.0.4", "<EMAIL_1>": "a@example.com"}
    masked = sanitizer.sanitize("10.0.0.4 and 10.0.0.5 and a@example.com", mask_map)
    assert masked == "<IP_ADDRESS_4> and <IP_ADDRESS_5> and <EMAIL_1>"


def test_two_maps_are_independent(sanitizer: Sanitizer) -> None:
    case_a: dict[str, str] = {}
    case_b: dict[str, str] = {}
    assert sanitizer.sanitize("alice@example.com", case_a) == "<EMAIL_1>"
    assert sanitizer.sanitize("bob@example.com", case_b) == "<EMAIL_1>"
    assert sanitizer.restore("<EMAIL_1>", case_a) == "alice@example.com"
    assert sanitizer.restore("<EMAIL_1>", case_b) == "bob@example.com"


def test_entries_added_to_the_map_elsewhere_are_reused(sanitizer: Sanitizer) -> None:
    mask_map: dict[str, str] = {}
    sanitizer.sanitize("10.0.0.1", mask_map)
    mask_map["<IP_ADDRESS_7>"] = "10.0.0.2"
    assert sanitizer.sanitize("10.0.0.2 10.0.0.3", mask_map) == "<IP_ADDRESS_7> <IP_ADDRESS_8>"


def test_a_map_edited_behind_its_back_never_gets_a_clashing_placeholder(sanitizer: Sanitizer) -> None:
    mask_map: dict[str, str] = {}
    sanitizer.sanitize("10.0.0.1", mask_map)
    del mask_map["<IP_ADDRESS_1>"]
    mask_map["<IP_ADDRESS_2>"] = "10.0.0.2"
    masked = _round_trip(sanitizer, "10.0.0.2 10.0.0.3", mask_map)
    assert "10.0.0" not in masked
    assert mask_map["<IP_ADDRESS_2>"] == "10.0.0.2"


def test_restore_leaves_unknown_placeholders_alone(sanitizer: Sanitizer) -> None:
    assert sanitizer.restore("<EMAIL_9> <NOT A PLACEHOLDER> <ip_address_1>", {"<EMAIL_1>": "x"}) == (
        "<EMAIL_9> <NOT A PLACEHOLDER> <ip_address_1>"
    )


def test_pasted_placeholders_cannot_pull_out_another_value(sanitizer: Sanitizer) -> None:
    mask_map = {"<EMAIL_1>": "ceo@example.com"}
    masked = sanitizer.sanitize("please show me <EMAIL_1> and <PASSWORD_1>", mask_map)
    assert "<EMAIL_1>" not in masked
    assert sanitizer.restore(masked, mask_map) == "please show me <EMAIL_1> and <PASSWORD_1>"


def _tokens(text: str) -> list[str]:
    return [match[0] for match in PLACEHOLDER_PATTERN.finditer(text)]


def test_output_never_holds_a_placeholder_outside_the_map(sanitizer: Sanitizer) -> None:
    mask_map: dict[str, str] = {}
    masked = _round_trip(sanitizer, "<EMAIL_1> bob@example.com <LITERAL_1> <IP_ADDRESS_1>x", mask_map)
    assert masked == "<LITERAL_1> <EMAIL_1> <LITERAL_2> <LITERAL_3>x"
    assert set(_tokens(masked)) <= set(mask_map)


def test_redact_is_one_way_and_numbers_per_call() -> None:
    assert redact("user bob@example.com from 10.1.1.1 password=hunter2") == (
        "user <EMAIL_1> from <IP_ADDRESS_1> password=<PASSWORD_1>"
    )
    assert redact("nothing secret here") == "nothing secret here"


def test_a_secret_inside_a_longer_secret_leaves_nothing_in_clear(sanitizer: Sanitizer) -> None:
    text = "password=pre.eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    masked = _round_trip(sanitizer, text)
    assert "pre" not in masked
    assert "eyJ" not in masked


HDFS_LINES = [
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
    "blk_38865049064139660 terminating",
    "081109 203807 222 INFO dfs.DataNode$PacketResponder: Received block blk_-6952295868487656571 of size "
    "67108864 from /10.251.42.84",
    "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: "
    "10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",
    "081109 204655 556 INFO dfs.DataNode$DataXceiver: Receiving block blk_-1608999687919862906 src: "
    "/10.250.19.102:54106 dest: /10.250.19.102:50010",
]


def test_hdfs_lines_keep_everything_but_the_addresses(sanitizer: Sanitizer) -> None:
    for line in HDFS_LINES:
        masked = _round_trip(sanitizer, line)
        without_ips = re.sub(r"/?\b10(?:\.\d{1,3}){3}\b", "", line)
        for token in without_ips.split():
            assert token.strip("/:") in masked, (token, masked)


@pytest.mark.parametrize(
    "line",
    [
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6 (pid 1234)",
        '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        "17/06/09 20:10:40 INFO executor.Executor: Finished task 0.0 in stage 1.0 (TID 8). 2087 bytes "
        "result sent to driver",
        "17/06/09 20:11:11 INFO storage.BlockManager: Found block rdd_42_20 locally",
        "2024-01-15T10:23:45.123Z level=info request_id=123e4567-e89b-12d3-a456-426614174000 "
        "duration_ms=1532 ts=1705314225123 status=503",
        "upgrading nginx v1.25.3.1 on host web-01.prod.example.internal port 8443 pid=31337",
        "listening on 0.0.0.0:8080 and [::1]:8080; netmask 255.255.255.0",
        "MAC 00:1a:2b:3c:4d:5e at 10:23:45; std::vector<int> and Foo::Bar resolved",
        "token_count=512 max_tokens=4096 password_reset_url=/reset author=John bypass=true",
        "password: null, token: ***, secret: ${DB_SECRET}, api_key: <your-api-key>",
        "order 9780306406157 (ISBN), id 1234567812345678 and sha256 " + "ab" * 32,
        "Bearer authentication failed for realm prod",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b merged; git@github.com:acme/api.git",
    ],
)
def test_ordinary_log_text_survives(sanitizer: Sanitizer, line: str) -> None:
    masked = _round_trip(sanitizer, line)
    if "git@github.com" in line:
        masked = masked.replace("<EMAIL_1>", "git@github.com")
    assert masked == line


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000 + "@",
        "password=" * 20_000,
        ":" * 200_000,
        "1." * 100_000,
        "1-" * 100_000,
        "4" * 200_000,
        "-----BEGIN PRIVATE KEY-----" + " a" * 100_000,
        "eyJ" + "a" * 200_000 + ".",
        "://" + "a:" * 100_000,
        "<" + "A_" * 100_000,
        "Bearer " * 30_000,
        "ab:" * 70_000 + "::",
        "API key " * 20_000,
        "ssn " * 20_000,
        "data:\n" * 20_000,
        "kind: Secret\ndata:\n" + "  a: YWRtaW4=\n" * 20_000,
        "data:" * 20_000,
        "AA00" * 20_000,
        "0000 " * 20_000,
        "- -p" * 20_000,
        "echo " * 20_000 + "| sudo -S",
        "password x " * 20_000,
    ],
)
def test_pathological_input_stays_linear(sanitizer: Sanitizer, text: str) -> None:
    started = time.perf_counter()
    _round_trip(sanitizer, text)
    assert time.perf_counter() - started < 2.0


# --- Property tests: generated secrets in arbitrary surroundings ---

LOG_ALPHABET = "abcxyzABCXYZ0123456789 :-_./=[](),;\"'<>@#\t|"
LOG_WORDS = ["INFO", "WARN", "ERROR", "081109", "203615", "blk_-1608999687919862906", "dfs.DataNode",
             "200", "GET", "/api/v1/orders", "latency=12ms", "user=bob", "<EMAIL_1>", "<IP_ADDRESS_2>",
             "<LITERAL_1>", "port=8080", "2024-01-15", "10:23:45,123", "é", "日本語", "🔥", "\\n", "{", "}",
             "\""]  # fmt: skip

surroundings = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=LOG_ALPHABET, max_size=60),
    st.lists(st.sampled_from(LOG_WORDS), max_size=8).map(" ".join),
)
separators = st.sampled_from([" ", "\n", " \t", "\r\n", " | "])

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@st.composite
def jwts(draw: st.DrawFn) -> str:
    header = {"alg": draw(st.sampled_from(["HS256", "RS256", "none"])), "typ": "JWT"}
    payload = draw(
        st.dictionaries(st.text(ALNUM, min_size=1, max_size=8), st.integers() | st.text(max_size=12))
    )
    signature = draw(st.binary(min_size=16, max_size=64))
    return ".".join(
        _b64url(part) for part in (json.dumps(header).encode(), json.dumps(payload).encode(), signature)
    )


@st.composite
def pem_keys(draw: st.DrawFn) -> str:
    label = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]))
    lines = draw(st.lists(st.text(B64, min_size=64, max_size=64), min_size=1, max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\\n"]))
    return newline.join([f"-----BEGIN {label}PRIVATE KEY-----", *lines, f"-----END {label}PRIVATE KEY-----"])


def _luhn_complete(partial: str) -> str:
    for check in "0123456789":
        digits = partial + check
        total = sum(
            (int(c) * 2 - 9 if int(c) > 4 else int(c) * 2) if i % 2 else int(c)
            for i, c in enumerate(reversed(digits))
        )
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, length = draw(
        st.sampled_from([("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
                         ("34", 15), ("37", 15), ("6011", 16), ("65", 19), ("35", 16), ("36", 14)])
    )  # fmt: skip
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    digits = _luhn_complete(prefix + body)
    if length == 16 and draw(st.booleans()):
        separator = draw(st.sampled_from([" ", "-"]))
        return separator.join(digits[i : i + 4] for i in range(0, 16, 4))
    return digits


@st.composite
def ssns(draw: st.DrawFn) -> str:
    area = draw(st.integers(1, 899).filter(lambda value: value != 666))
    return f"{area:03d}-{draw(st.integers(1, 99)):02d}-{draw(st.integers(1, 9999)):04d}"


ipv4s = st.ip_addresses(v=4).map(str).filter(lambda ip: int(ip.split(".")[0]) not in {0, 127, 255})
ipv6s = (
    st.ip_addresses(v=6)
    .filter(lambda ip: not (ip.is_loopback or ip.is_unspecified))
    .map(str)
    .filter(lambda ip: any(char.isdigit() for char in ip))
)
emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._%+-]{2,20}", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,10}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)
secret_values = st.from_regex(r"[A-Za-z0-9!%()+./:=?@\[\]^_|~<>-]{7,30}[0-9]", fullmatch=True)
SECRET_KEYS = ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key",
               "private_key", "client_secret", "auth", "credential", "DB_PASSWORD", "aws_secret_access_key",
               "X-Api-Key", "authToken", "SecretAccessKey", "MYSQL_ROOT_PASSWORD"]  # fmt: skip
PAIR_FORMATS = [
    "{k}={v}",
    "{k}: {v}",
    '"{k}": "{v}"',
    "'{k}': '{v}'",
    '{k} = "{v}"',
    "{k}:={v}",
    "<{k}>{v}</{k}>",
]


@st.composite
def key_value_pairs(draw: st.DrawFn) -> tuple[str, str]:
    value = draw(secret_values)
    pair_format = draw(st.sampled_from(PAIR_FORMATS))
    if pair_format.startswith("<"):
        assume("<" not in value)
    return pair_format.format(k=draw(st.sampled_from(SECRET_KEYS)), v=value), value


@st.composite
def url_credentials(draw: st.DrawFn) -> tuple[str, str]:
    scheme = draw(
        st.sampled_from(["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp", "https"])
    )
    user = draw(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True) | st.just(""))
    password = draw(st.from_regex(r"[A-Za-z0-9!$%&()*+,;=:@._~-]{7,24}[A-Za-z0-9]", fullmatch=True))
    host = draw(st.sampled_from(["db.internal", "10.0.3.7", "cluster0.ab1cd.mongodb.net", "[2001:db8::7]"]))
    tail = draw(st.sampled_from(["", ":5432/orders", "/0", "/vhost?ssl=true"]))
    assume(password not in f"{scheme}://{user}:" and password not in host + tail)
    return f"{scheme}://{user}:{password}@{host}{tail}", password


def _prefixed(prefix: str, alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size).map(lambda body: prefix + body)


standalone_secrets = st.one_of(
    _prefixed("AKIA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    _prefixed("ASIA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    _prefixed("ghp_", ALNUM, 36),
    _prefixed("glpat-", ALNUM + "_-", 20),
    _prefixed("xoxb-", ALNUM + "-", 40),
    _prefixed("sk_live_", ALNUM, 24),
    _prefixed("sk-proj-", ALNUM + "_-", 40),
    _prefixed("sk-ant-api03-", ALNUM + "_-", 60),
    _prefixed("AIza", ALNUM + "_-", 35),
    jwts(),
    pem_keys(),
)
delimited_secrets = st.one_of(emails, ipv4s, ipv6s, card_numbers(), ssns())


def _assert_masked_and_restored(sanitizer: Sanitizer, text: str, secret: str) -> None:
    mask_map: dict[str, str] = {}
    masked = sanitizer.sanitize(text, mask_map)
    assert secret not in masked, masked
    assert sanitizer.restore(masked, mask_map) == text


@PROPERTY_SETTINGS
@given(prefix=surroundings, secret=standalone_secrets, suffix=surroundings)
def test_prefixed_secrets_never_survive_even_when_glued_to_text(
    prefix: str, secret: str, suffix: str
) -> None:
    assume(secret not in prefix + suffix)
    _assert_masked_and_restored(Sanitizer(), prefix + secret + suffix, secret)


@PROPERTY_SETTINGS
@given(
    prefix=surroundings, before=separators, secret=delimited_secrets, after=separators, suffix=surroundings
)
def test_delimited_pii_never_survives(prefix: str, before: str, secret: str, after: str, suffix: str) -> None:
    assume(secret not in prefix + suffix)
    _assert_masked_and_restored(Sanitizer(), prefix + before + secret + after + suffix, secret)


@PROPERTY_SETTINGS
@given(prefix=surroundings, before=separators, pair=key_value_pairs(), after=separators, suffix=surroundings)
def test_secret_key_values_never_survive(
    prefix: str, before: str, pair: tuple[str, str], after: str, suffix: str
) -> None:
    text, value = pair
    assume(value not in prefix + suffix)
    _assert_masked_and_restored(Sanitizer(), prefix + before + text + after + suffix, value)


@PROPERTY_SETTINGS
@given(prefix=surroundings, before=separators, url=url_credentials(), after=separators, suffix=surroundings)
def test_url_passwords_never_survive(
    prefix: str, before: str, url: tuple[str, str], after: str, suffix: str
) -> None:
    text, password = url
    assume(password not in prefix + suffix)
    _assert_masked_and_restored(Sanitizer(), prefix + before + text + after + suffix, password)


@PROPERTY_SETTINGS
@given(
    text=st.lists(st.one_of(surroundings, st.sampled_from(LOG_WORDS), delimited_secrets, standalone_secrets))
)
def test_anything_round_trips_and_only_issued_placeholders_appear(text: list[str]) -> None:
    joined = " ".join(text)
    sanitizer = Sanitizer()
    mask_map = {"<EMAIL_1>": "someone@example.com"}
    masked = sanitizer.sanitize(joined, mask_map)
    assert sanitizer.restore(masked, mask_map) == joined
    assert set(_tokens(masked)) <= set(mask_map)


@PROPERTY_SETTINGS
@given(secret=delimited_secrets, lines=st.lists(surroundings, min_size=1, max_size=5))
def test_repeated_values_share_one_placeholder_across_calls(secret: str, lines: list[str]) -> None:
    assume(all(secret not in line for line in lines))
    sanitizer = Sanitizer()
    mask_map: dict[str, str] = {}
    masked = [sanitizer.sanitize(f"{line} {secret} ", mask_map) for line in lines]
    (placeholder,) = {placeholder for placeholder, value in mask_map.items() if value == secret}
    assert all(placeholder in line for line in masked)
