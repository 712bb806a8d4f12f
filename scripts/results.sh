#!/usr/bin/env bash
# Runs the ML-100K result grids into runs/results/ (resumable: rerun to continue after an interruption).
#   UR4REC_DATA_DIR=/path/to/data bash scripts/results.sh [--workers N] [--out DIR] [grid ...]
# Default grids, in priority order: texts_loo texts_sampled ties_loo (issue 13: do the texts help?), then
# nan_ablation full_loo full_sampled dropout_init (the NaN study and the original staged recipe).
# Then: UR4REC_PROFILE=full deno task notebooks --only 04_write_up  (writes reports/RESULTS.md and .html)
set -uo pipefail
cd "$(dirname "$0")/.."
workers=() # default: ablate's own, one worker per CPU core
out=runs/results
grids=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers=(--workers "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) grids+=("$1"); shift ;;
  esac
done
[ ${#grids[@]} -gt 0 ] || grids=(texts_loo texts_sampled ties_loo nan_ablation full_loo full_sampled dropout_init)
deno=tools/node_modules/.bin/deno
for g in "${grids[@]}"; do
  start=$(date +%s)
  echo "== $g ($(date -u +%H:%M:%S))"
  mkdir -p "$out/$g"
  # the code version the report names (notebook 04): the commit, marked when the working tree differs from it
  commit=$(git rev-parse HEAD)
  git diff --quiet HEAD -- src configs || commit="$commit (with uncommitted changes)"
  echo "$commit" > "$out/$g/COMMIT"
  "$deno" run -A src/cli/ablate.ts run --grid "configs/grids/$g.yaml" --out "$out/$g" "${workers[@]}"
  "$deno" run -A src/cli/ablate.ts summarize "$out/$g" > "$out/$g/summary.txt"
  echo "== $g done in $(( $(date +%s) - start )) s"
done
