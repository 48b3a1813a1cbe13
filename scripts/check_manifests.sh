#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/kubernetes offline (no cluster runs here): each against the
# Kubernetes API's JSON schema, strictly (unknown fields refused), with kubernetes-validate from PyPI, which carries
# the schemas; then checks that both Jobs agree on the shard count (completions = GENIE_SHARDS).
# kubernetes-validate comes from PyPI into a venv under .build (Debian's python3 is externally managed).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/k8s-venv
if ! "$venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    rm -rf "$venv"
    if ! /usr/bin/python3 -m venv "$venv" 2>/dev/null; then  # a fresh Debian lacks python3-venv (ensurepip)
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$venv"
        /usr/bin/python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0
fi
"$venv/bin/kubernetes-validate" --strict deploy/kubernetes/*.yaml
"$venv/bin/python" - deploy/kubernetes/distill-job.yaml deploy/kubernetes/quantize-job.yaml <<'PY'
import sys, yaml
distill, quantize = (yaml.safe_load(open(path)) for path in sys.argv[1:])
def shards(job):
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    return int(next(e["value"] for e in env if e["name"] == "GENIE_SHARDS"))
counts = {"completions": distill["spec"]["completions"], "distill GENIE_SHARDS": shards(distill),
          "quantize GENIE_SHARDS": shards(quantize)}
if len(set(counts.values())) != 1:
    sys.exit(f"FAIL: the shard counts differ: {counts}")
print(f"INFO the Jobs agree on {distill['spec']['completions']} shards")
PY
