#!/usr/bin/env bash
# Builds src/backend/simd/*.wasm from their AssemblyScript sources (*.as.ts) with the pinned compiler in tools/.
# The binaries are committed; tests/backend_gemm_test.ts checks that each is its source's build.
#   bash scripts/build_simd.sh [OUT_DIR]     (default: next to the sources)
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir=${1:-src/backend/simd}
for source in src/backend/simd/*.as.ts; do
  name=$(basename "$source" .as.ts)
  tools/node_modules/.bin/asc "$source" -O3 --runtime stub --importMemory --noExportMemory --initialMemory 0 \
    --use abort= --noAssert --enable simd --enable relaxed-simd -o "$out_dir/$name.wasm"
  # Instantiating must not write into tfjs's heap nor keep state: no data segments, globals or start function.
  listing=$(tools/node_modules/.bin/wasm-dis "$out_dir/$name.wasm") # whole, so grep cannot cut the pipe short
  if grep -E '^ \((data|global|start|memory) ' <<<"$listing" >/dev/null; then
    echo "build_simd.sh: $name.wasm has a data segment, global, start function or memory of its own" >&2
    exit 1
  fi
done
