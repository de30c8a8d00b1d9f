#!/usr/bin/env bash
# A lent GPU fills the store (the device tool's `run`, from the repository root, the bundle carried): smoke test, then
# attx compute's planner on CUDA until the deadline, the new records packed into $OUT/gpu-run (records-NN.json.gz,
# run.json, run.log) for `attx compute --merge`. Nothing is installed: PYTHONPATH=. and the machine's python3.
# Usage: bash bench/gpu_fill.sh [BUNDLE (default _bundle)] [MINUTES, smoke test and pack included (default 7)]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
out="${OUT:?set OUT to the output folder (the device tool sets it)}/gpu-run"
mkdir -p "$out"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
python3 -m attx_core.compute.gpu --bundle "${1:-_bundle}" --minutes "${2:-7}" --out "$out" 2>&1 | tee "$out/run.log"
