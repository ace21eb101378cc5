"""Checks the deployment artifacts without a container engine: the Kubernetes manifests and the
compose file parse and say what the operations guide promises, the ConfigMap's TOML is accepted by
swfd, and the image entrypoint turns a pod ordinal and the peer list into node id and initial members."""

import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SWFD = os.environ.get("SWFD_BIN", str(ROOT / "target" / "debug" / "swfd"))


def test_kubernetes_manifests():
    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/swfd.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) >= {"ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet"}
    sts = kinds["StatefulSet"]["spec"]
    assert sts["replicas"] == 3 and sts["serviceName"] == "swfd-peers"
    container = sts["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert sts["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    # Auth is on: the auth configuration comes from a Secret.
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["SWFD_AUTH_CONFIG"] == "/etc/swfd-auth/auth.toml"
    assert "auth.toml" in kinds["Secret"]["stringData"]
    # Prometheus scrapes /metrics on the admin listener, which listens on the pod's address.
    annotations = sts["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    ports = {p["containerPort"] for p in container["ports"]}
    assert int(annotations["prometheus.io/port"]) in ports
    assert env["SWFD_ADMIN_ADDR"].endswith(":" + annotations["prometheus.io/port"])
    headless = [d for d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"]
    assert headless and headless[0]["spec"]["publishNotReadyAddresses"] is True

    # The ConfigMap's settings are a config file swfd accepts.
    toml = kinds["ConfigMap"]["data"]["swfd.toml"]
    with tempfile.TemporaryDirectory() as d:
        cfg = pathlib.Path(d) / "swfd.toml"
        cfg.write_text(toml)
        # The file parses (no unknown keys); the run then stops at the deliberately invalid flag.
        bad = subprocess.run([SWFD, "--config", str(cfg), "--long-poll-secs", "0"], capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "long-poll-secs" in bad.stderr
        assert "unknown field" not in bad.stderr and "parsing" not in bad.stderr


def test_compose_file():
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"swfd-1", "swfd-2", "swfd-3"}
    for name, svc in services.items():
        assert svc["environment"]["SWFD_NODE_ID"] == name[-1]
        assert svc["environment"]["SWFD_INITIAL_MEMBERS"].count("=") == 3
        assert svc["environment"]["SWFD_AUTH_CONFIG"] == "/run/secrets/swfd-auth"
    assert compose["secrets"]["swfd-auth"]["file"] == "./auth.example.toml"
    assert (ROOT / "deploy/auth.example.toml").is_file()


def test_entrypoint_derives_node_id_and_members(tmp_path):
    fake = tmp_path / "swfd"
    fake.write_text('#!/bin/sh\necho "$SWFD_NODE_ID|$SWFD_INITIAL_MEMBERS|$*"\n')
    fake.chmod(0o755)
    script = (ROOT / "deploy/entrypoint.sh").read_text().replace("/usr/local/bin/swfd", str(fake))
    entry = tmp_path / "entry.sh"
    entry.write_text(script)
    env = {"PATH": os.environ["PATH"], "HOSTNAME": "swfd-2", "SWFD_PEERS": "swfd-0.p,swfd-1.p,swfd-2.p"}
    out = subprocess.run(["sh", str(entry), "--config", "x"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "3|1=swfd-0.p:7951,2=swfd-1.p:7951,3=swfd-2.p:7951|--config x"
    # An explicit node id and members win.
    env.update({"SWFD_NODE_ID": "7", "SWFD_INITIAL_MEMBERS": "7=a:1"})
    out = subprocess.run(["sh", str(entry)], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "7|7=a:1|"


def test_grafana_dashboard_uses_documented_metrics():
    import json
    import re

    dashboard = json.loads((ROOT / "deploy/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    documented = (ROOT / "docs/observability.md").read_text()
    for name in {n for e in exprs for n in re.findall(r"\b(?:swfd|process)_[a-z_]+", e)}:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert f"`{base}`" in documented, f"{base} is not in docs/observability.md"


def test_kubernetes_manifests_match_the_api_schema():
    """Every field of every manifest is one the Kubernetes API knows, of its type, with the required
    ones present (the API's object models of the `kubernetes` client, offline; no cluster here)."""
    import k8s_schema

    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/swfd.yaml").read_text()))
    assert len(docs) >= 9
    for doc in docs:
        assert k8s_schema.validate(doc) == [], doc["kind"]
    # The check itself catches a misspelt field, a wrong type and a missing required field.
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    sts["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    sts["spec"]["replicas"] = "3"
    found = k8s_schema.validate(sts)
    assert any("readinesProbe: not a field of V1Container" in p for p in found)
    assert any("spec.replicas: expected int" in p for p in found)
    del sts["spec"]["template"]["spec"]["containers"][0]["readinesProbe"]
    sts["spec"]["replicas"] = 3
    del sts["spec"]["selector"]
    assert any("selector" in p for p in k8s_schema.validate(sts))


def test_compose_file_matches_the_compose_spec():
    """The compose file validates against the Compose Specification's schema (vendored in
    check-jsonschema, offline), and a service with an unknown key does not."""
    checker = str(pathlib.Path(sys.executable).parent / "check-jsonschema")
    ok = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(ROOT / "deploy/docker-compose.yml")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    compose["services"]["swfd-1"]["enviroment"] = {"X": "1"}
    with tempfile.TemporaryDirectory() as d:
        bad = pathlib.Path(d) / "compose.yml"
        bad.write_text(yaml.safe_dump(compose))
        res = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(bad)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode != 0 and "enviroment" in (res.stdout + res.stderr)
