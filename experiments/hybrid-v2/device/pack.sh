#!/bin/bash
# Build every piece the device calls carry, in STAGE (default /tmp/xb-devcarry), from this checkout:
#   xb.tar.xz            xlir_bench/, tasks/, tests/tiny_models.py, experiments/hybrid-v2/ grid, split,
#                        held-out task and device/ (tracked files only: commit first)
#   lareqa.tar.xz        the LAReQA mirror's mlqa-r/ and xquad-r/ JSON files, byte for byte
#   whl/                 wheels the device image lacks: datasets 5.2.0, dill 0.4.1, multiprocess 0.70.19
#                        (pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d $WHEELS)
#   pruned.bin.xz.partNN prune_model.py's output, xz'd and cut into 15 MB parts (one per call: the
#                        working tree that travels is capped at 64 MiB, the project's own files use 44.6 MB)
#   run.sh               the device script
# Call 1 carries xb, lareqa, whl, run.sh and part00 (check mode); call 2 carries xb, run.sh and part01.
set -euo pipefail
STAGE=${1:-/tmp/xb-devcarry}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DATA=${XLIR_BENCH_DATA:-$ROOT/../shared/data/lareqa}
PRUNED=${PRUNED:-/tmp/prune/pruned.bin}
mkdir -p "$STAGE/whl"
(cd "$ROOT" && git ls-files -z xlir_bench tasks tests/tiny_models.py experiments/hybrid-v2/study.toml \
  experiments/hybrid-v2/split.json experiments/hybrid-v2/mlqa-r-heldout.toml experiments/hybrid-v2/device |
  tar --null -T - -cf - | xz -9 > "$STAGE/xb.tar.xz")
[ -f "$STAGE/lareqa.tar.xz" ] || (cd "$DATA/.." && tar -cf - lareqa/mlqa-r lareqa/xquad-r | xz -9 > "$STAGE/lareqa.tar.xz")
[ -f "$STAGE/pruned.bin.xz.part00" ] || xz -9 -T2 -c "$PRUNED" | split -b 15000000 -d - "$STAGE/pruned.bin.xz.part"
cp "${WHEELS:-/tmp/whl}"/*.whl "$STAGE/whl/"
cp "$ROOT/experiments/hybrid-v2/device/run.sh" "$STAGE/run.sh"
ls -la "$STAGE" "$STAGE/whl"
