"""The Kubernetes manifests, offline: every object valid against the Kubernetes schemas (strict), the
objects the design document names present with the settings the deployment relies on, and the partial
rollback's rewrite landing on a route FaultMaven really serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes minor still commonly run, and the newest the schemas know.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
# Kinds with no schema in kubernetes-validate: checked by the tests below instead.
CUSTOM_KINDS = {"Kustomization", "PodMonitor", "PrometheusRule"}
Doc = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(kind: str, name: str) -> Doc:
    for path in manifest_files():
        for doc in documents(path):
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
    raise AssertionError(f"no {kind} {name} in deploy/kubernetes")


def container(deployment: Doc) -> Doc:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def config() -> dict[str, str]:
    return find("ConfigMap", "faultmaven-config")["data"]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for doc in documents(path):
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']}: {error.message}")


def test_strict_validation_rejects_an_unknown_field() -> None:
    """Guards the test above against a validator that accepts anything."""
    deployment = find("Deployment", "faultmaven-backend")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("directory", [K8S, K8S / "canary", K8S / "monitoring"], ids=lambda d: d.name)
def test_kustomizations_list_existing_files(directory: Path) -> None:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "faultmaven"
    listed = set(kustomization["resources"])
    assert all((directory / name).is_file() for name in listed)
    applied_on_purpose = {"kustomization.yaml", "secret.example.yaml", "rollback-ingress-config.yaml"}
    assert {path.name for path in directory.glob("*.yaml")} - applied_on_purpose == listed


def test_every_namespaced_object_names_its_namespace() -> None:
    """So `kubectl apply -f` of a single file (the rollback, the canary) lands in the right place."""
    for path in manifest_files():
        for doc in documents(path):
            if doc["kind"] not in {"Kustomization", "Namespace"}:
                assert doc["metadata"].get("namespace") == "faultmaven", f"{path.name}: {doc['kind']}"


def test_backend_deployment_is_hardened_and_probed() -> None:
    deployment = find("Deployment", "faultmaven-backend")
    pod = deployment["spec"]["template"]["spec"]
    api = container(deployment)
    assert api["args"] == ["faultmaven", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert set(api["resources"]) == {"requests", "limits"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    security = api["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {mount["mountPath"]: mount["name"] for mount in api["volumeMounts"]}
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    assert mounts["/tmp"] in empty_dirs and mounts["/data"] in empty_dirs
    assert {ref.get("configMapRef", {}).get("name") for ref in api["envFrom"]} >= {"faultmaven-config"}
    assert {ref.get("secretRef", {}).get("name") for ref in api["envFrom"]} >= {"faultmaven-secrets"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("name", ["faultmaven-backend", "faultmaven-worker"])
def test_graceful_shutdown_outlasts_the_query_drain(name: str) -> None:
    pod = find("Deployment", name)["spec"]["template"]["spec"]
    pre_stop = container({"spec": {"template": {"spec": pod}}}).get("lifecycle", {}).get("preStop")
    pre_stop_seconds = int(pre_stop["exec"]["command"][1]) if pre_stop else 0
    drain = float(config()["FAULTMAVEN_SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > pre_stop_seconds + drain


def test_flag_and_rollback_settings() -> None:
    data = config()
    assert data["ENABLE_CASE_AGENT_INTEGRATION"] == "true"
    # The partial rollback needs the deprecated routes served.
    assert data["FAULTMAVEN_DEPRECATED_ROUTES_RETIRED"] == "false"
    assert data["FAULTMAVEN_AUTH_MODE"] == "token"  # local mode refuses to listen on 0.0.0.0
    # A full rollback (`kubectl rollout undo`) needs revisions to go back to.
    assert find("Deployment", "faultmaven-backend")["spec"].get("revisionHistoryLimit", 10) >= 2


def test_worker_and_migration_run_the_same_image() -> None:
    worker = container(find("Deployment", "faultmaven-worker"))
    migration = find("Job", "faultmaven-db-upgrade")
    migrate = migration["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"] == ["faultmaven", "worker"]
    assert migrate["args"] == ["faultmaven", "db", "upgrade"]
    api = container(find("Deployment", "faultmaven-backend"))
    assert worker["image"] == migrate["image"] == api["image"] == "faultmaven"
    assert migration["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_service_ingress_hpa_and_pdb_point_at_the_api() -> None:
    pod_labels = find("Deployment", "faultmaven-backend")["spec"]["template"]["metadata"]["labels"]
    service = find("Service", "faultmaven-backend")
    assert matches(service["spec"]["selector"], pod_labels)
    backend = find("Ingress", "faultmaven")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "faultmaven-backend"
    assert find("HorizontalPodAutoscaler", "faultmaven-backend")["spec"]["scaleTargetRef"]["name"] == (
        "faultmaven-backend"
    )
    pdb = find("PodDisruptionBudget", "faultmaven-backend")
    assert matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)


def test_network_policies() -> None:
    assert find("NetworkPolicy", "default-deny-ingress")["spec"]["podSelector"] == {}
    api_sources = find("NetworkPolicy", "faultmaven-api")["spec"]["ingress"][0]["from"]
    namespaces = {source["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for source in api_sources}
    assert "ingress-nginx" in namespaces
    for store, port in (("faultmaven-postgres", 5432), ("faultmaven-redis", 6379)):
        policy = find("NetworkPolicy", store)["spec"]
        (rule,) = policy["ingress"]
        (source,) = rule["from"]
        assert set(source) == {"podSelector"}, "only pods of this namespace"
        expressions = {item["key"]: item["values"] for item in source["podSelector"]["matchExpressions"]}
        assert expressions["app.kubernetes.io/name"] == ["faultmaven"]
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}]


def test_canary_is_the_stable_pod_at_ten_percent() -> None:
    stable = find("Deployment", "faultmaven-backend")
    canary = find("Deployment", "faultmaven-backend-canary")
    assert canary["spec"]["template"]["metadata"]["labels"]["faultmaven.io/track"] == "canary"
    assert canary["spec"]["template"]["spec"] == stable["spec"]["template"]["spec"]
    service = find("Service", "faultmaven-backend-canary")
    assert matches(service["spec"]["selector"], canary["spec"]["template"]["metadata"]["labels"])
    assert not matches(service["spec"]["selector"], stable["spec"]["template"]["metadata"]["labels"])
    ingress = find("Ingress", "faultmaven-canary")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/canary"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/canary-weight"] == "10"
    main_rule = find("Ingress", "faultmaven")["spec"]["rules"][0]
    canary_rule = ingress["spec"]["rules"][0]
    assert canary_rule["host"] == main_rule["host"]
    assert canary_rule["http"]["paths"][0]["path"] == main_rule["http"]["paths"][0]["path"]
    assert canary_rule["http"]["paths"][0]["backend"]["service"]["name"] == "faultmaven-backend-canary"


def test_prometheus_rule_is_the_rules_file() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "faultmaven-rules.yml").read_text())
    rule = find("PrometheusRule", "faultmaven")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == rules["groups"], "regenerate prometheusrule.yaml (see its header)"
    monitor = find("PodMonitor", "faultmaven")["spec"]
    assert monitor["podMetricsEndpoints"][0]["path"] == "/metrics"


def test_example_secret_holds_placeholders_only() -> None:
    (secret,) = documents(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "faultmaven-secrets"
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        credential = value.split("://", 1)[-1].split("@")[0] if "@" in value else value
        if "://" in value and "@" not in value:
            continue  # a URL with no credentials in it
        assert re.fullmatch(r".*<[a-z-]+>.*", credential), f"{key} is not a placeholder: {value!r}"
    # Every key a FaultMaven pod or the bundled PostgreSQL reads is there.
    assert {"FAULTMAVEN_DATABASE_URL", "POSTGRES_PASSWORD"} <= set(secret["stringData"])


def rollback_rewrite(path: str) -> str | None:
    """What ingress-nginx does with `path` under rollback-ingress-config.yaml: its regular expression is
    matched case-insensitively from the start of the path, and `$n` in the target are its groups."""
    (ingress,) = documents(K8S / "rollback-ingress-config.yaml")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/use-regex"] == "true"
    (rule_path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert rule_path["backend"]["service"]["name"] == "faultmaven-backend"
    match = re.match(rule_path["path"], path, re.IGNORECASE)
    if match is None:
        return None
    target = annotations["nginx.ingress.kubernetes.io/rewrite-target"]
    return re.sub(r"\$(\d)", lambda group: match.group(int(group.group(1))), target)


def test_rollback_rewrites_only_case_query_submission() -> None:
    assert rollback_rewrite("/api/v1/cases/c-123/queries") == "/api/v1/agent/cases/c-123/query"
    for untouched in (
        "/api/v1/cases/c-123/queries/q-1",
        "/api/v1/cases/c-123/queries/q-1/events",
        "/api/v1/cases/c-123/messages",
        "/api/v1/cases",
    ):
        assert rollback_rewrite(untouched) is None, untouched


async def test_rollback_target_answers_and_keeps_the_conversation(client: httpx.AsyncClient) -> None:
    """The partial rollback is real: the rewritten request is answered by the deprecated route of the same
    process, and the exchange lands in the case as the case route would have put it."""
    created = await client.post("/api/v1/cases", json={"title": "Checkout 502s"})
    assert created.status_code == 201, created.text
    case_id = created.json()["case"]["case_id"]
    target = rollback_rewrite(f"/api/v1/cases/{case_id}/queries")
    assert target is not None
    answered = await client.post(target, json={"query": "What should I check first?"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["content"] and answered.json()["case_id"] == case_id
    assert answered.headers["deprecation"].startswith("@")
    messages = (await client.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    assert [message["role"] for message in messages][-2:] == ["user", "agent"]
