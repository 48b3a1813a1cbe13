#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/kubernetes offline (no cluster runs here): each against the
# Kubernetes API's JSON schema, strictly (unknown fields refused), with kubernetes-validate from PyPI, which carries
# the schemas; then checks that both Jobs agree on the shard count (completions = GENIE_SHARDS).
# kubernetes-validate comes from PyPI into a venv under .build (Debian's python3 is externally managed).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/k8s-venv
source scripts/python_venv.sh
python_venv "$venv" "kubernetes_validate, yaml" kubernetes-validate==1.37.0
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
