#!/usr/bin/env bash
# `make chart-check`: helm lint and helm template of deploy/helm/seevee, the rendered manifests validated
# offline (Kubernetes schemas from kubernetes-validate; ScaledObjects against KEDA's documented fields and
# our rules), and the chart's guard rails refusing values they must refuse. Helm comes from the Go module
# proxy, built once into .tools/go/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM_VERSION=v3.21.4
helm=$PWD/.tools/go/bin/helm
chart=deploy/helm/seevee
out=var/chart
python=.venv/bin/python

# `go install` leaves no version stamp in the binary, so a marker beside it says which one it is.
if ! [ -x "$helm" ] || [ "$(cat "$helm.version" 2>/dev/null)" != "$HELM_VERSION" ]; then
  command -v go >/dev/null || { echo "go is needed to build helm $HELM_VERSION" >&2; exit 1; }
  echo "building helm $HELM_VERSION from the Go module proxy (a few minutes, once)"
  GOBIN=$PWD/.tools/go/bin GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "$HELM_VERSION" >"$helm.version"
fi
mkdir -p "$out"

"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" --set keda.enabled=false --set config.KAFKA_SECURITY_PROTOCOL=PLAINTEXT
"$helm" template seevee "$chart" --namespace seevee >"$out/rendered.yaml"
"$helm" template seevee "$chart" --namespace seevee --set keda.enabled=false \
  --set config.KAFKA_SECURITY_PROTOCOL=PLAINTEXT --set keda.sasl= --set keda.tls= >"$out/rendered-plain.yaml"
"$python" -m seevee_deploy.chart_check --partitions 6 "$out/rendered.yaml" "$out/rendered-plain.yaml"

refuse() {  # refuse WHAT HELM-ARGS...: the chart must fail to render with these values
  local what=$1
  shift
  if "$helm" template seevee "$chart" "$@" >/dev/null 2>&1; then
    echo "chart-check: the chart rendered $what" >&2
    exit 1
  fi
  echo "chart-check: refuses $what"
}
refuse "more consumer replicas than partitions" --set services.task-service.maxReplicas=7
refuse "a consumer scaled to zero (its process serves the API)" --set services.thread-service.minReplicas=0
echo "chart-check passed"
