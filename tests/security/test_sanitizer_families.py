"""The sanitizer's reach (secrets found by their context: manifests, URLs, command lines, prose, check digits)
and its precision (the identifiers an engineer needs reach the LLM untouched)."""

from __future__ import annotations

import base64
import json
import string
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from faultmaven.infrastructure.security.checksums import (
    IBAN_LENGTHS,
    is_brazil_cpf,
    is_iban,
    passes_luhn,
    passes_verhoeff,
)
from faultmaven.infrastructure.security.sanitizer import Sanitizer
from tests.security.test_sanitizer import PROPERTY_SETTINGS, separators, surroundings

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
PRINTABLE = string.ascii_letters + string.digits + "!#%*+,-./:=?@^_~ "


def _text(alphabet: str, size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size if max_size is None else max_size)


def _mixed(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """A token of `alphabet` with at least one letter and one digit, as real keys and passwords have."""
    return st.tuples(
        st.sampled_from(string.ascii_letters),
        _text(alphabet, min_size, max_size),
        st.sampled_from(string.digits),
    ).map("".join)


passwords = st.tuples(
    st.sampled_from(string.ascii_letters), _text(ALNUM + "!#%^*_+=.@-", 6, 18), st.sampled_from(string.digits)
).map("".join)
users = st.from_regex(r"[a-z][a-z0-9_]{1,10}", fullmatch=True)
hosts = st.sampled_from(["db.internal", "api.example.com", "10.0.3.7", "registry.example.com", "cache"])


# --- Generators, one per family: each returns (text, secrets that must not survive) ---


@st.composite
def kubernetes_secret_manifests(draw: st.DrawFn) -> tuple[str, list[str]]:
    keys = draw(st.lists(st.from_regex(r"[a-z][a-zA-Z0-9_.-]{0,15}", fullmatch=True), min_size=1, max_size=4,
                         unique=True))  # fmt: skip
    raw = draw(st.lists(st.text(PRINTABLE, min_size=1, max_size=40), min_size=len(keys), max_size=len(keys)))
    encoded = [base64.b64encode(value.encode()).decode() for value in raw]
    name = draw(users)
    form = draw(st.sampled_from(["kind first", "kubectl order", "json", "list item"]))
    if form == "json":
        manifest = {"apiVersion": "v1", "data": dict(zip(keys, encoded, strict=True)), "kind": "Secret",
                    "metadata": {"name": name, "namespace": "default"}, "type": "Opaque"}  # fmt: skip
        text = json.dumps(manifest, indent=draw(st.sampled_from([None, 2, 4])))
    else:
        indent = draw(st.sampled_from(["  ", "    "]))
        lead = "  " if form == "list item" else ""
        data = "".join(f"{lead}{indent}{key}: {value}\n" for key, value in zip(keys, encoded, strict=True))
        meta = f"{lead}metadata:\n{lead}{indent}name: {name}\n{lead}{indent}namespace: default\n"
        if form == "kind first":
            text = f"apiVersion: v1\nkind: Secret\n{meta}type: Opaque\ndata:\n{data}"
        elif form == "kubectl order":
            text = f"apiVersion: v1\ndata:\n{data}kind: Secret\n{meta}type: Opaque\n"
        else:
            text = (
                f"apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n{data}  kind: Secret\n{meta}kind: List\n"
            )
    visible = text
    for value in encoded:
        visible = visible.replace(value, "")
    assume(all(value not in visible for value in encoded))
    return text, encoded


@st.composite
def url_query_tokens(draw: st.DrawFn) -> tuple[str, list[str]]:
    name = draw(st.sampled_from([
        "access_token", "token", "id_token", "refresh_token", "api_key", "apikey", "key", "auth", "sig",
        "signature", "client_secret", "code", "session", "password", "jwt", "private_token", "X-Api-Key",
    ]))  # fmt: skip
    value = draw(_mixed(ALNUM + "_-", 14, 40))
    before = draw(st.lists(st.sampled_from(["page=2", "sort=asc", "limit=50", "lang=en", "v=3"]), max_size=2))
    after = draw(st.lists(st.sampled_from(["page=2", "format=json", "ts=1700000000"]), max_size=2))
    query = "&".join([*before, f"{name}={value}", *after])
    url = f"https://{draw(hosts)}/api/v1/items?{query}"
    if draw(st.booleans()):
        url = "GET " + url.replace("?", "%3F").replace("=", "%3D").replace("&", "%26") + " HTTP/1.1"
    return url, [value]


@st.composite
def presigned_urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    provider = draw(st.sampled_from(["aws", "gcs", "azure", "cloudfront", "aws-v2"]))
    signature = draw(_text(HEX, 64))
    if provider == "aws":
        key_id = "ASIA" + draw(_text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
        token = draw(_mixed(ALNUM + "/+", 40, 120)).replace("/", "%2F").replace("+", "%2B")
        url = (f"https://bucket.s3.amazonaws.com/reports/q3.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               f"&X-Amz-Credential={key_id}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z"
               f"&X-Amz-Expires=3600&X-Amz-Security-Token={token}&X-Amz-SignedHeaders=host"
               f"&X-Amz-Signature={signature}")  # fmt: skip
        return url, [key_id, token, signature]
    if provider == "gcs":
        account = f"{draw(users)}%40proj-{draw(_text(HEX, 6))}.iam.gserviceaccount.com"
        long_signature = draw(_text(HEX, 256))
        url = (f"https://storage.googleapis.com/bucket/obj?X-Goog-Algorithm=GOOG4-RSA-SHA256"
               f"&X-Goog-Credential={account}%2F20240101%2Fauto%2Fstorage%2Fgoog4_request"
               f"&X-Goog-Date=20240101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host"
               f"&X-Goog-Signature={long_signature}")  # fmt: skip
        return url, [account, long_signature]
    if provider == "azure":
        sig = base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
        sig = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
        return f"https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2024-01-01&sp=r&sig={sig}", [sig]
    if provider == "cloudfront":
        cf_signature = draw(_mixed(ALNUM + "~-", 60, 120))
        url = f"https://d111111abcdef8.cloudfront.net/img.png?Expires=1700000000&Signature={cf_signature}"
        return url + "&Key-Pair-Id=K2JCJMDEHXQW5F", [cf_signature]
    key_id = "AKIA" + draw(_text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
    v2_signature = base64.b64encode(draw(st.binary(min_size=20, max_size=20))).decode().replace("+", "%2B")
    v2_signature = v2_signature.replace("/", "%2F").replace("=", "%3D")
    url = f"https://bucket.s3.amazonaws.com/a.zip?AWSAccessKeyId={key_id}&Expires=1700000000&Signature={v2_signature}"
    return url, [key_id, v2_signature]


@st.composite
def prose_api_keys(draw: st.DrawFn) -> tuple[str, list[str]]:
    key = draw(st.one_of(_text(HEX, 32), _text(HEX, 40), _text(HEX, 64), _text(HEX.upper(), 32)))
    assume(any(char.isalpha() for char in key) and any(char.isdigit() for char in key))
    phrase = draw(st.sampled_from(["API key", "api key", "API key:", "the API key is", "Datadog API key",
                                   "apikey", "access key", "secret key", "API token", "auth token", "app key",
                                   "application key", "API key =", "my api key is", "Api-Key"]))  # fmt: skip
    return f"{phrase} {key}", [key]


@st.composite
def command_line_passwords(draw: st.DrawFn) -> tuple[str, list[str]]:
    password, user, host = draw(passwords), draw(users), draw(hosts)
    template = draw(st.sampled_from([
        "mysqldump -u {user} -p{pw} --single-transaction shop > /backup/shop.sql",
        "mysql -h {host} -u {user} -p{pw} -e 'SHOW PROCESSLIST'",
        "mysql -h {host} -u {user} -p'{pw}' shop",
        "mysqladmin -u root -p{pw} status",
        "PGPASSWORD={pw} psql -h {host} -U {user} orders",
        "PGPASSWORD='{pw}' pg_dump -h {host} -U {user} orders",
        "MYSQL_PWD={pw} mysql -u {user}",
        "sshpass -p {pw} ssh {user}@{host}",
        "sshpass -p '{pw}' scp file {user}@{host}:/tmp",
        "SSHPASS={pw} sshpass -e ssh {user}@{host}",
        "redis-cli -h {host} -a {pw} ping",
        "curl -u {user}:{pw} https://{host}/api",
        "curl -s --user '{user}:{pw}' https://{host}/api",
        "keytool -importcert -alias ca -storepass {pw} -keystore truststore.jks",
        "openssl pkcs12 -export -in cert.pem -passout pass:{pw} -out cert.p12",
        "docker login -u {user} -p {pw} {host}",
        "mongosh --host {host} -u {user} -p {pw} --authenticationDatabase admin",
        "ldapsearch -x -D cn=admin,dc=example,dc=org -w {pw} -b dc=example,dc=org",
        "mysql --user={user} --password={pw} shop",
    ]))  # fmt: skip
    text = template.format(pw=password, user=user, host=host)
    assume(text.count(password) == 1)
    return text, [password]


@st.composite
def netrc_entries(draw: st.DrawFn) -> tuple[str, list[str]]:
    password, user, host = draw(passwords), draw(users), draw(hosts)
    layout = draw(st.sampled_from(["one line", "lines", "default"]))
    if layout == "one line":
        text = f"machine {host} login {user} password {password}"
    elif layout == "lines":
        indent = draw(st.sampled_from(["  ", "\t", "    "]))
        text = f"machine {host}\n{indent}login {user}\n{indent}password {password}\n"
    else:
        text = f"default login {user} password {password}"
    assume(text.count(password) == 1)
    return text, [password]


@st.composite
def docker_configs(draw: st.DrawFn) -> tuple[str, list[str]]:
    auth = base64.b64encode(f"{draw(users)}:{draw(passwords)}".encode()).decode()
    registry = draw(st.sampled_from(["https://index.docker.io/v1/", "ghcr.io", "registry.example.com:5000"]))
    config = {"auths": {registry: {"auth": auth}}}
    text = json.dumps(config, indent=draw(st.sampled_from([None, 2, "\t"])))
    if draw(st.booleans()):
        text = "level=debug msg=" + json.dumps("loaded docker config " + text)
    return text, [auth]


@st.composite
def webhook_urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(st.sampled_from(["slack", "discord", "teams", "mattermost", "zapier", "googlechat"]))
    if kind == "slack":
        secret = draw(_text(ALNUM, 24))
        path = f"T{draw(_text(string.ascii_uppercase + string.digits, 8))}/B{draw(_text(string.digits, 10))}"
        return f"https://hooks.slack.com/services/{path}/{secret}", [secret]
    if kind == "discord":
        secret = draw(_mixed(ALNUM + "_-", 60, 68))
        return f"https://discord.com/api/webhooks/{draw(_text(string.digits, 18))}/{secret}", [secret]
    if kind == "teams":
        secret = draw(_text(HEX, 32))
        url = (f"https://acme.webhook.office.com/webhookb2/{uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))}"
               f"@{uuid.uuid4()}/IncomingWebhook/{secret}/{uuid.uuid4()}")  # fmt: skip
        return url, [secret]
    if kind == "mattermost":
        secret = draw(_text(string.ascii_lowercase + string.digits, 26))
        return f"https://chat.example.com/hooks/{secret}", [secret]
    if kind == "zapier":
        secret = f"{draw(_text(string.digits, 7))}/{draw(_mixed(string.ascii_lowercase, 4, 6))}"
        return f"https://hooks.zapier.com/hooks/catch/{secret}/", [secret]
    token = draw(_mixed(ALNUM + "_-", 40, 44))
    return f"https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=abc&token={token}", [token]


@st.composite
def session_cookies(draw: st.DrawFn) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(["JSESSIONID", "PHPSESSID", "sessionid", "session_id", "connect.sid",
                                 "laravel_session", "_session_id", "ASP.NET_SessionId", "ci_session", "sid",
                                 "session"]))  # fmt: skip
    value = draw(_mixed(ALNUM + "%._-", 16, 48))
    template = draw(st.sampled_from(["Cookie: {n}={v}", "Set-Cookie: {n}={v}; Path=/; HttpOnly; Secure",
                                     'level=info msg="resumed" {n}={v} user=bob', '{{"{n}": "{v}"}}',
                                     "curl -b '{n}={v}' https://example.com"]))  # fmt: skip
    return template.format(n=name, v=value), [value]


@st.composite
def vendor_tokens(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(
        st.sampled_from(["pypi", "huggingface", "shopify", "terraform", "datadog-api", "datadog-app"])
    )
    if kind == "pypi":
        token = "pypi-AgEIcHlwaS5vcmc" + draw(_text(ALNUM + "_-", 60, 160))
    elif kind == "huggingface":
        token = "hf_" + draw(_text(ALNUM, 34))
    elif kind == "shopify":
        token = draw(st.sampled_from(["shpat_", "shpca_", "shppa_", "shpss_"])) + draw(_text(HEX, 32))
    elif kind == "terraform":
        token = draw(_text(ALNUM, 14)) + ".atlasv1." + draw(_text(ALNUM + "_-", 67))
    else:
        token = draw(_text(HEX, 32 if kind == "datadog-api" else 40))
        assume(any(char.isalpha() for char in token))
        api_names = ["DD_API_KEY", "DD-API-KEY", "datadog_api_key", "DATADOG_API_KEY"]
        app_names = ["DD_APP_KEY", "DD_APPLICATION_KEY", "dd-application-key", "datadog_app_key"]
        name = draw(st.sampled_from(api_names if kind == "datadog-api" else app_names))
        return draw(st.sampled_from([f"{name}={token}", f"{name}: {token}", f'"{name}": "{token}"'])), [token]
    return token, [token]


@st.composite
def ibans(draw: st.DrawFn) -> tuple[str, list[str]]:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban = draw(_text(string.digits + string.ascii_uppercase, IBAN_LENGTHS[country] - 4))
    check = 98 - int("".join(str(int(char, 36)) for char in bban + country + "00")) % 97
    compact = f"{country}{check:02d}{bban}"
    assert is_iban(compact)
    if draw(st.booleans()):
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)), [compact[4:8], compact[-4:]]
    return compact, [compact]


def _complete(partial: str, check: object) -> str:
    for digit in string.digits:
        if check(partial + digit):  # type: ignore[operator]
            return partial + digit
    raise AssertionError("unreachable")


@st.composite
def national_ids(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(st.sampled_from(["ssn", "nino", "aadhaar", "sin", "cpf", "dni", "bsn", "pesel", "passport",
                                 "steuer", "personnummer", "insee"]))  # fmt: skip
    if kind == "ssn":
        value = (
            f"{draw(st.integers(1, 665)):03d}{draw(st.integers(1, 99)):02d}{draw(st.integers(1, 9999)):04d}"
        )
        label = draw(st.sampled_from(["SSN: ", "ssn=", "social security number ", "SSN #"]))
        return label + value, [value]
    if kind == "nino":
        first = draw(st.sampled_from("ABCEGHJKLMNOPRSTWXYZ"))
        second = draw(st.sampled_from("ABCEGHJKLMNPRSTWXYZ"))
        assume(first + second not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
        number = draw(_text(string.digits, 6))
        suffix = draw(st.sampled_from("ABCD"))
        if draw(st.booleans()):
            return f"{first}{second} {number[:2]} {number[2:4]} {number[4:]} {suffix}", [
                number[2:4] + " " + number[4:]
            ]
        return f"{first}{second}{number}{suffix}", [f"{first}{second}{number}{suffix}"]
    if kind == "aadhaar":
        value = _complete(draw(st.sampled_from("23456789")) + draw(_text(string.digits, 10)), passes_verhoeff)
        return f"{value[:4]} {value[4:8]} {value[8:]}", [value[4:8] + " " + value[8:]]
    if kind == "sin":
        value = _complete(draw(st.sampled_from("1234579")) + draw(_text(string.digits, 7)), passes_luhn)
        separator = draw(st.sampled_from([" ", "-"]))
        return separator.join([value[:3], value[3:6], value[6:]]), [value[3:6] + separator + value[6:]]
    if kind == "cpf":
        partial = draw(_text(string.digits, 9))
        assume(len(set(partial)) > 1)
        value = next(
            partial + f"{check:02d}" for check in range(100) if is_brazil_cpf(partial + f"{check:02d}")
        )
        return f"{value[:3]}.{value[3:6]}.{value[6:9]}-{value[9:]}", [
            f"{value[3:6]}.{value[6:9]}-{value[9:]}"
        ]
    if kind == "dni":
        number = draw(st.integers(0, 99_999_999))
        value = f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"
        return value, [value]
    value = {
        "bsn": draw(_text(string.digits, 9)),
        "pesel": draw(_text(string.digits, 11)),
        "passport": draw(st.sampled_from("CXKLMNPR")) + draw(_text(string.digits, 8)),
        "steuer": draw(_text(string.digits, 11)),
        "personnummer": f"{draw(_text(string.digits, 6))}-{draw(_text(string.digits, 4))}",
        "insee": f"{draw(st.sampled_from('12'))}{draw(_text(string.digits, 12))}",
    }[kind]
    label = {"bsn": "BSN: ", "pesel": "PESEL ", "passport": "passport number: ", "steuer": "Steuer-ID ",
             "personnummer": "personnummer ", "insee": "INSEE: "}[kind]  # fmt: skip
    return label + value, [value]


FAMILIES = {
    "kubernetes secret data": kubernetes_secret_manifests(),
    "url query token": url_query_tokens(),
    "presigned url": presigned_urls(),
    "bare hex api key in prose": prose_api_keys(),
    "command-line password": command_line_passwords(),
    "netrc": netrc_entries(),
    "docker config auth": docker_configs(),
    "webhook url": webhook_urls(),
    "session cookie": session_cookies(),
    "vendor token": vendor_tokens(),
    "iban": ibans(),
    "national id": national_ids(),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_is_masked_in_any_surroundings(family: str) -> None:
    @PROPERTY_SETTINGS
    @given(
        prefix=surroundings, before=separators, case=FAMILIES[family], after=separators, suffix=surroundings
    )
    def check(prefix: str, before: str, case: tuple[str, list[str]], after: str, suffix: str) -> None:
        text, secrets = case
        assume(all(secret not in prefix + suffix for secret in secrets))
        assume(not (text[-1].isdigit() and suffix[:1].isdigit()))  # a following number changes what it is
        full = prefix + before + text + after + suffix
        sanitizer = Sanitizer()
        mask_map: dict[str, str] = {}
        masked = sanitizer.sanitize(full, mask_map)
        leaked = [secret for secret in secrets if secret in masked]
        assert not leaked, masked
        assert sanitizer.restore(masked, mask_map) == full

    check()


# --- Precision: what an engineer needs stays verbatim ---

ENGINEER_LINES = [
    "request_id=123e4567-e89b-12d3-a456-426614174000 correlation-id: 9b2f6c1e-3d4a-4f5b-8c7d-1e2f3a4b5c6d",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main), parent a1b2c3d, fixes 7e6dc88",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 dd.trace_id=5625617298542211234",
    "image: ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "Back-off restarting failed container api in pod api-7d9f8b6c5d-x2x9k_production(5f1c2b3a-...)",
    "pod/payments-worker-5c9f7d8b6-qwert7 node ip-10-0-3-7.ec2.internal StatefulSet redis-cluster-2",
    "ORA-00942: table or view does not exist; ERR_CONNECTION_REFUSED; E1234; HRESULT 0x80070005",
    "SQLSTATE 40001 serialization failure, errno 111 (ECONNREFUSED), exit code 137 (OOMKilled), HTTP 503",
    "upgraded nginx 1.25.3 -> 1.27.0, chart v2.14.0-rc.1, kernel 5.15.0-1051-aws, go1.22.4, python 3.11.9",
    "open /var/lib/kubelet/pods/8c4b6f2e-1a2b-4c3d-9e8f-0a1b2c3d4e5f/volumes/kubernetes.io~secret/token",
    r"File C:\Program Files\Acme\bin\agent.exe, /home/runner/work/app/src/main.py:42, ./config/app.yaml",
    "at com.acme.orders.OrderService.place(OrderService.java:117) jobId=job_1445144423722_0020",
    "blk_-1608999687919862906 appattempt_1445144423722_0020_000001 container_e17_1445144423722_0020_01_02",
    "git checkout 9fceb02 && helm upgrade api ./chart --set image.tag=sha-3f78685 --version 2.14.0",
    "KeyError: 'user_id' in handler; token_count=512 max_tokens=4096 session_timeout=30 keyId=-127633188",
    "docker pull redis:7.2.4-alpine; digest: sha256:e4c58958181a5925816faa528ce959e487632f4cfd192f8132f71b32",
    "Established session 0x14f05578bf40000 with negotiated timeout 10000 for client sessionid:0x14f05578bf4",
    "az group show --name rg-prod-westeurope --subscription 11111111-2222-3333-4444-555555555555",
    "arn:aws:iam::123456789012:role/eks-node-role i-0abcd1234efgh5678 vpc-0a1b2c3d sg-0123456789abcdef0",
]

uuids = st.uuids().map(str)
shas = st.one_of(st.text(HEX, min_size=40, max_size=40), st.text(HEX, min_size=7, max_size=12))
trace_ids = st.text(HEX, min_size=32, max_size=32)
span_ids = st.text(HEX, min_size=16, max_size=16)
digests = st.text(HEX, min_size=64, max_size=64).map(lambda value: "sha256:" + value)
pod_names = st.builds(
    "{}-{}-{}".format,
    st.from_regex(r"[a-z][a-z0-9]{2,10}(-[a-z0-9]{2,8}){0,2}", fullmatch=True),
    st.text("bcdfghjklmnpqrstvwxz2456789", min_size=8, max_size=10),
    st.text("bcdfghjklmnpqrstvwxz2456789", min_size=5, max_size=5),
)
versions = st.builds("{}.{}.{}".format, st.integers(0, 40), st.integers(0, 99), st.integers(0, 999)).flatmap(
    lambda core: st.sampled_from([core, "v" + core, core + "-rc.1", core + "-alpine", core + "+build.7"])
)
error_codes = st.one_of(
    st.from_regex(r"(ORA|ERR|E|EC|AADSTS|CS|TS)-?[0-9]{3,6}", fullmatch=True),
    st.from_regex(r"0x[0-9A-F]{8}", fullmatch=True),
    st.from_regex(r"ERR_[A-Z]{3,12}(_[A-Z]{3,12}){0,2}", fullmatch=True),
)
paths = st.lists(st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True), min_size=1, max_size=6).map(
    lambda parts: "/" + "/".join(parts)
)
IDENTIFIER_CONTEXTS = {
    "uuid": (uuids, ["request_id={}", "pod uid {}", "case {} opened", "/api/v1/cases/{}/evidence"]),
    "sha": (shas, ["commit {}", "git checkout {}", "revision={}", "image tag sha-{}"]),
    "trace": (trace_ids, ["trace_id={}", "traceId: {}", "X-B3-TraceId: {}", "trace {} slow"]),
    "span": (span_ids, ["span_id={}", "parent span {}", "X-B3-SpanId: {}"]),
    "digest": (digests, ["image nginx@{}", "digest: {}", "pulled {}"]),
    "pod": (pod_names, ["pod {} OOMKilled", "kubectl logs {} -c app", "pod/{} restarted"]),
    "version": (versions, ["nginx {}", "version={}", "upgraded to {}", "chart api-{}"]),
    "error code": (error_codes, ["error {}", "failed with {}", "code={}"]),
    "path": (paths, ["open {}: no such file", "GET {} 404", "path={}"]),
}


@pytest.mark.parametrize("line", ENGINEER_LINES)
def test_engineer_identifiers_survive_verbatim(line: str) -> None:
    assert Sanitizer().sanitize(line, {}) == line


@pytest.mark.parametrize("kind", sorted(IDENTIFIER_CONTEXTS))
def test_generated_identifiers_survive_verbatim(kind: str) -> None:
    values, templates = IDENTIFIER_CONTEXTS[kind]

    @PROPERTY_SETTINGS
    @given(value=values, template=st.sampled_from(templates))
    def check(value: str, template: str) -> None:
        assume(not value.isdigit())  # an all-digit id is indistinguishable from a card number or an id number
        line = template.format(value)
        assert Sanitizer().sanitize(line, {}) == line

    check()


@pytest.mark.parametrize(
    "line",
    [
        "kind: ConfigMap\ndata:\n  mode: test\n  path: /var/lib/app\n  LOG_LEVEL: debug\n",
        "GET /search?q=timeout&page=2&code=200&key=orders HTTP/1.1",
        "password authentication failed for user postgres; API key rejected; access token expired",
        "the password is incorrect for user bob",
        "GET https://api.github.com/repos/acme/api/hooks/12345678 200",
        "mkdir -p /var/run/app && ssh -p 2222 bob@host && mysql -P 3306 -h db",
        "keyId: -127633188 cache_key=user:42 sort_key=created_at routing_key=orders.created",
        "tin cans 123456, spin 99999, span 1234567 and pan 42 in the tax bracket",
        "ES91 not an iban, DE00 1234 either, order BE12345678901 shipped",
    ],
)
def test_look_alikes_stay(line: str) -> None:
    assert Sanitizer().sanitize(line, {}) == line
