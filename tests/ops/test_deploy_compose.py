"""compose.yaml, offline (no Docker daemon in CI): its structure, the start order its health checks give,
and every variable it reads documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
FAULTMAVEN_SERVICES = ("migrate", "api", "worker")


def test_the_stack_has_its_services() -> None:
    assert set(SERVICES) == {"db", "redis", "migrate", "api", "worker", "proxy", "ollama"}
    assert SERVICES["ollama"]["profiles"] == ["ollama"]
    assert all("profiles" not in SERVICES[name] for name in SERVICES if name != "ollama")


def test_one_image_runs_api_worker_and_migration() -> None:
    images = {SERVICES[name]["image"] for name in FAULTMAVEN_SERVICES}
    assert images == {"${FAULTMAVEN_IMAGE:-faultmaven:0.1.0}"}
    assert SERVICES["api"]["command"][:2] == ["faultmaven", "serve"]
    assert SERVICES["worker"]["command"] == ["faultmaven", "worker"]
    assert SERVICES["migrate"]["command"] == ["faultmaven", "db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["api"]["deploy"]["replicas"] == 2


def test_start_order_waits_for_health() -> None:
    for store in ("db", "redis"):
        assert SERVICES[store]["healthcheck"]["test"][0] == "CMD"
    assert SERVICES["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }
    assert SERVICES["proxy"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert "healthcheck" not in SERVICES["api"], "the image's HEALTHCHECK applies"
    assert SERVICES["worker"]["healthcheck"] == {"disable": True}


def test_faultmaven_containers_share_settings_and_are_locked_down() -> None:
    for name in FAULTMAVEN_SERVICES:
        service = SERVICES[name]
        assert service["env_file"] == [{"path": ".env", "required": True}]
        environment = service["environment"]
        assert environment["FAULTMAVEN_DATABASE_URL"].endswith("@db:5432/faultmaven")
        assert environment["FAULTMAVEN_QUEUE_URL"].startswith("redis://redis:6379/")
        assert "ENABLE_CASE_AGENT_INTEGRATION" in environment
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert "ports" not in service, "only the proxy publishes a port"


def test_volumes_are_named_and_declared() -> None:
    used = {
        mount.split(":")[0]
        for service in SERVICES.values()
        for mount in service.get("volumes", [])
        if not mount.startswith(".")
    }
    assert used == set(COMPOSE["volumes"])
    proxy_config = SERVICES["proxy"]["volumes"][0].split(":")[0]
    assert (ROOT / proxy_config).is_file()


def test_every_variable_is_documented_in_env_example() -> None:
    text = (ROOT / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", example, re.MULTILINE))
    assert used <= documented, used - documented
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "POSTGRES_PASSWORD=change-me" in example, "a placeholder, never a real password"
