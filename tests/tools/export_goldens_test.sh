#!/usr/bin/env bash
# The golden files of `export` (tests/unit/data/golden/export-*) are read by the
# real consumers, without an engine: every Kubernetes document into the API's
# models (kube_validate.py), every compose file by docker-compose.
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
GOLDEN=$REPO/tests/unit/data/golden
fails=0
/usr/bin/python3 "$REPO/tests/tools/kube_validate.py" "$GOLDEN"/export-*.kube.yaml || fails=$((fails + 1))
for f in "$GOLDEN"/export-*.compose.yaml; do
  if docker-compose -f "$f" -p export-golden config -q; then
    echo "ok: docker-compose reads $(basename "$f")"
  else
    echo "FAIL: docker-compose does not read $(basename "$f")" >&2
    fails=$((fails + 1))
  fi
done
[ "$fails" -eq 0 ]
