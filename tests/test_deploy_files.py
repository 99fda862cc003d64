"""The deployment files (deploy/, docs/deployment.md) agree with the code they deploy.

Nothing here needs Docker, systemd or a cluster: the files are read as data and checked
against the CLI's options, the app's routes and each other, so that renaming an option, a
route or a service breaks a test rather than a city's deployment.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.auth.config import AuthSettings
from cityos.store.sqlite import SQLiteStore
from tests.services import require_binary
from tests.test_config_env import serve_variables

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
VARIABLE = re.compile(r"\bCITYOS_[A-Z0-9_]+\b")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def unit(path: Path) -> configparser.RawConfigParser:
    """A systemd unit file as sections of settings (a repeated setting keeps its last)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def env_file(path: Path) -> dict[str, str]:
    """VAR=value lines of an EnvironmentFile, the commented-out examples included."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?(CITYOS_[A-Z0-9_]+)=(.*)", line.strip())
        if match:
            found[match[1]] = match[2].strip('"')
    return found


def dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def manifests() -> dict[str, dict[str, Any]]:
    """The Kubernetes objects of deploy/kubernetes by kind."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            objects[document["kind"]] = document
    return objects


def image_health_path() -> str:
    """The path the image's HEALTHCHECK asks on 127.0.0.1:$CITYOS_PORT."""
    [health] = [a for k, a in dockerfile(DEPLOY / "docker" / "Dockerfile") if k == "HEALTHCHECK"]
    [path] = re.findall(r"127\.0\.0\.1:%s(/[\w/]+)", health)
    return str(path)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def container() -> dict[str, Any]:
    spec: dict[str, Any] = manifests()["Deployment"]["spec"]["template"]["spec"]
    [only] = spec["containers"]
    assert isinstance(only, dict)
    return only


# --- docs/deployment.md ---------------------------------------------------------------


def test_the_docs_table_lists_exactly_the_variables_of_serve() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(CITYOS_[A-Z0-9_]+)` \| `(--[a-z0-9-]+)` \|", text, re.MULTILINE)
    assert dict(rows) == serve_variables()
    assert len(rows) == len(dict(rows))
    sizing = text.split("## How to size it", 1)[1].split("\n## ", 1)[0]
    assert "<!--" not in sizing and "benchmarks.md" in sizing  # written, from measurements


def test_every_variable_the_deploy_files_name_is_one_serve_reads() -> None:
    known = set(serve_variables())
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            named = set(VARIABLE.findall(path.read_text(encoding="utf-8")))
            assert named <= known, (path.name, named - known)


# --- systemd ----------------------------------------------------------------------------


def test_the_systemd_unit_runs_serve_hardened_as_its_own_user() -> None:
    service = unit(DEPLOY / "systemd" / "cityos.service")
    settings = dict(service["Service"])
    assert settings["ExecStart"].split()[0].endswith("/cityos")
    assert settings["ExecStart"].split()[1:] == ["serve"]
    assert settings["User"] not in ("", "root")
    assert settings["Restart"] == "on-failure"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert settings[key] == value, key
    for needed in ("postgresql.service", "nats-server.service"):
        assert needed in service["Unit"]["After"].split()
        assert needed in service["Unit"]["Wants"].split()
    assert Path(settings["EnvironmentFile"]).name == "cityos.env"
    # The embedded store lives in the one directory the unit may write.
    data = env_file(DEPLOY / "systemd" / "cityos.env")["CITYOS_DATA"]
    assert data == f"/var/lib/{settings['StateDirectory']}" == settings["WorkingDirectory"]
    assert data in settings["ReadWritePaths"].split()


def test_the_environment_file_shows_every_variable() -> None:
    assert set(env_file(DEPLOY / "systemd" / "cityos.env")) == set(serve_variables())


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze", "systemd-analyze")
    text = (DEPLOY / "systemd" / "cityos.service").read_text(encoding="utf-8")
    # verify wants ExecStart to exist: point it at this environment's cityos.
    here = Path(sys.executable).parent / "cityos"
    copy = tmp_path / "cityos.service"
    copy.write_text(text.replace("/opt/cityos/bin/cityos", str(here)), encoding="utf-8")
    checked = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert "cityos.service" not in checked.stderr, checked.stderr


# --- Docker -----------------------------------------------------------------------------


def test_the_image_runs_serve_unprivileged_on_its_port() -> None:
    steps = dockerfile(DEPLOY / "docker" / "Dockerfile")
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    final = steps[last_from:]
    assert final[0][1] == "python:3.11-slim"
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for k, a in final if k == "ENV")))
    assert [a for k, a in final if k == "EXPOSE"] == [env["CITYOS_PORT"]]
    assert [a for k, a in final if k == "USER"] not in ([], ["root"])
    assert [a for k, a in final if k == "ENTRYPOINT"] == ['["cityos"]']
    assert [a for k, a in final if k == "CMD"] == ['["serve"]']
    [health] = [a for k, a in final if k == "HEALTHCHECK"]
    assert "CITYOS_PORT" in health and image_health_path() == "/health/ready"


def test_the_build_context_sends_what_the_image_copies() -> None:
    steps = dockerfile(DEPLOY / "docker" / "Dockerfile")
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    sent = {line[1:] for line in ignore.splitlines() if line.startswith("!")}
    for keyword, arguments in steps:
        if keyword == "COPY" and not arguments.startswith("--from"):
            *sources, _ = arguments.split()
            for source in sources:
                assert source in sent, source
                assert (ROOT / source).exists(), source


def test_the_compose_file_wires_its_services_together() -> None:
    services = compose()["services"]
    cityos = services["cityos"]
    env = cityos["environment"]
    store = urlsplit(env["CITYOS_STORE"])
    postgres = services[store.hostname]["environment"]
    assert (store.username, store.port, store.path) == (
        postgres["POSTGRES_USER"],
        5432,
        "/" + postgres["POSTGRES_DB"],
    )
    assert store.password == postgres["POSTGRES_PASSWORD"]
    events = urlsplit(env["CITYOS_EVENTS"])
    assert events.scheme == "nats" and events.port == 4222
    assert "-js" in services[events.hostname]["command"]
    assert env["CITYOS_HOST"] == "0.0.0.0"
    assert cityos["deploy"]["replicas"] >= 2
    assert "ports" not in cityos  # replicas are reached through the proxy only
    assert set(cityos["depends_on"]) == {store.hostname, events.hostname}
    build = (DEPLOY / cityos["build"]["context"]).resolve()
    assert (build / cityos["build"]["dockerfile"]).samefile(DEPLOY / "docker" / "Dockerfile")


def test_the_compose_volumes_and_mounts_exist() -> None:
    loaded = compose()
    for name, service in loaded["services"].items():
        for dependency in service.get("depends_on", ()):
            assert dependency in loaded["services"], name
        for mount in service.get("volumes", ()):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), source
            else:
                assert source in loaded["volumes"], source


def test_the_proxy_spreads_requests_over_every_cityos_instance() -> None:
    services = compose()["services"]
    caddyfile = (DEPLOY / "docker" / "Caddyfile").read_text(encoding="utf-8")
    [(name, port)] = re.findall(r"dynamic a (\S+) (\d+)", caddyfile)
    assert name == "cityos" and name in services
    assert port == services["cityos"]["environment"]["CITYOS_PORT"]
    [listen] = re.findall(r"^http://:(\d+) \{", caddyfile, re.MULTILINE)
    [published] = services["proxy"]["ports"]
    assert published.endswith(f":{listen}:{listen}")


def test_caddy_accepts_the_caddyfile() -> None:
    caddy = require_binary("Caddy", "caddy")
    checked = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", DEPLOY / "docker" / "Caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


# --- Kubernetes -------------------------------------------------------------------------


def test_the_kustomization_applies_every_manifest() -> None:
    listed = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"]
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(present)


def test_the_deployment_is_configured_only_by_known_variables() -> None:
    objects = manifests()
    config, secret = objects["ConfigMap"], objects["Secret"]
    assert set(config["data"]) | set(secret["stringData"]) <= set(serve_variables())
    assert "CITYOS_STORE" in secret["stringData"]  # the password is a Secret's
    assert "CITYOS_EVENTS" in config["data"]
    sources = container()["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in sources


def test_the_deployment_runs_two_instances_within_limits() -> None:
    objects = manifests()
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    resources = container()["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert objects["Service"]["spec"]["selector"].items() <= labels.items()
    pdb = objects["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] < deployment["spec"]["replicas"]


def test_the_pod_runs_as_the_image_user() -> None:
    steps = dockerfile(DEPLOY / "docker" / "Dockerfile")
    [created] = [a for k, a in steps if k == "RUN" and "useradd" in a]
    uid = re.search(r"--uid (\d+)", created)
    assert uid is not None
    spec = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsUser"] == int(uid[1])
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_ports_agree_from_the_service_to_the_process() -> None:
    objects = manifests()
    [port] = container()["ports"]
    assert port["containerPort"] == int(objects["ConfigMap"]["data"]["CITYOS_PORT"])
    [service_port] = objects["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    for probe in PROBES:
        assert container()[probe]["httpGet"]["port"] == port["name"], probe


def test_the_probes_ask_routes_that_answer_without_credentials(tmp_path: Path) -> None:
    probes = {p: container()[p]["httpGet"]["path"] for p in PROBES}
    assert probes["readinessProbe"] == "/health/ready"  # the one that checks store and bus
    assert probes["livenessProbe"] == "/health/live"  # never restarted for the database
    store = SQLiteStore(tmp_path / "data")
    try:
        # As deployed: authentication required, no credentials on the probe.
        app = create_app(store, Settings(auth=AuthSettings()))
        with TestClient(app) as client:
            for path in {*probes.values(), image_health_path()}:
                assert client.get(path).status_code == 200, path
            assert client.get("/ngsi-ld/v1/types").status_code == 401
    finally:
        store.close()
