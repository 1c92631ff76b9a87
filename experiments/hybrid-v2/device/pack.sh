#!/bin/bash
# Build the device carry folder: pack.sh DEST (e.g. /work/main/.devcarry), from this checkout.
#   DEST/xb.tar.xz       xlir_bench/, tasks/, experiments/hybrid-v2/ (grid, split, held-out task, device/)
#   DEST/lareqa.tar.xz   the LAReQA mirror's mlqa-r/ and xquad-r/ JSON files, byte for byte
#   DEST/pruned.bin.xz   prune_model.py's output (PRUNED=path, default /tmp/prune/pruned.bin)
#   DEST/run.sh          the device script
set -euo pipefail
DEST=$1
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DATA=${XLIR_BENCH_DATA:-$ROOT/../shared/data/lareqa}
PRUNED=${PRUNED:-/tmp/prune/pruned.bin}
mkdir -p "$DEST"
(cd "$ROOT" && git ls-files -z xlir_bench tasks experiments/hybrid-v2/study.toml experiments/hybrid-v2/split.json \
  experiments/hybrid-v2/mlqa-r-heldout.toml experiments/hybrid-v2/device | tar --null -T - -cf - | xz -9 > "$DEST/xb.tar.xz")
[ -f "$DEST/lareqa.tar.xz" ] || (cd "$DATA/.." && tar -cf - lareqa/mlqa-r lareqa/xquad-r | xz -9e -T2 > "$DEST/lareqa.tar.xz")
[ -f "$DEST/pruned.bin.xz" ] || xz -9e -T2 -c "$PRUNED" > "$DEST/pruned.bin.xz"
cp "$ROOT/experiments/hybrid-v2/device/run.sh" "$DEST/run.sh"
ls -la "$DEST"; du -cb "$DEST"/* | tail -1
