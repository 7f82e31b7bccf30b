#!/usr/bin/env bash
# Every check that needs a CUDA device, in one run: build the kernels for the device, run the
# gpu-marked tests (tests/gpu: each op against the CPU op, device arrays, the device-resident
# pipeline) and the GPU benchmarks (bench/test_bench_cuda.py: each kernel at 12 MP with its
# achieved GB/s against the H100 floor; bench/test_bench_cuda_pipeline.py: the post-processing
# on the device beside the CPU stages).
#
#   OUT=/tmp/gpu-check tools/gpu_check.sh
#
# Then compute-sanitizer runs the gpu tests (tests/gpu and the execution-model self-tests of
# tests/emu/test_emu_harness.py on the cuda backend) under memcheck, racecheck, synccheck and initcheck;
# a tool that reports an error fails the script.
#
# Writes into $OUT (default ./gpu-check): nvidia-smi.txt, build.log, tests.log, tests-trt.log, bench.log,
# bench-cuda.json, sanitizer-<tool>.log, sanitizer.txt. The CUDA-only build (build/gpu-check) replaces the in-tree _core module, as
# tools/dev_build.sh does. Without ../shared/data beside the repo the real-data tests skip and the
# benchmarks use a synthetic 12 MP scene (the test ids say which).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed: no driver?" | tee -a "$out/nvidia-smi.txt"
"$py" -m pip install -q numpy pillow onnxruntime pytest pytest-benchmark scipy pybind11 ninja cmake \
  > "$out/pip.log" 2>&1 || echo "pip install failed (see pip.log); trying with what is installed"

# The CUDA build only (no emulation): the device's own kernels.
BUILD_DIR=build/gpu-check JOBS=${JOBS:-8} PYTHON="$py" tools/dev_build.sh -DALPHACUT_CUDA=ON -DALPHACUT_EMU=OFF \
  > "$out/build.log" 2>&1 || { echo "build failed: $out/build.log"; tail -30 "$out/build.log"; exit 1; }
PYTHONPATH=python "$py" -c "import alphacut.device as c; print('cuda:', c.why_unavailable() or 'available')" \
  | tee -a "$out/build.log"

export PYTHONPATH=python PYTHONUNBUFFERED=1
"$py" -m pytest -q -rs tests/gpu tests/ops -k "cuda or gpu" -p no:cacheprovider \
  2>&1 | tee "$out/tests.log" | tail -25
# TensorRT (the engines, FP16 builds and the segmenter on the device in the pipeline:
# tests/runtime/trt) with the newest tensorrt pip resolves to; a failed install is reported.
"$py" -m pip install -q "tensorrt>=10" onnx > "$out/pip-trt.log" 2>&1 \
  || echo "tensorrt install failed (see pip-trt.log): the trt tests below skip" | tee -a "$out/tests.log"
"$py" -m pytest -q -rs tests/runtime/trt -p no:cacheprovider 2>&1 | tee "$out/tests-trt.log" | tail -15
"$py" -m pytest -q -s bench/test_bench_cuda.py bench/test_bench_cuda_pipeline.py --benchmark-enable \
  --benchmark-columns=median,iqr,min,max,rounds --benchmark-json="$out/bench-cuda.json" -p no:cacheprovider \
  2>&1 | tee "$out/bench.log" | grep -E "GB/s|ms,|passed|failed|skipped|Error" | tail -60

# compute-sanitizer over the gpu tests: the device-side bugs the emulation cannot see on the CPU
# (out-of-bounds and misaligned accesses, shared-memory hazards, invalid barriers, reads of
# uninitialised global memory).
status=0
san=$(command -v compute-sanitizer || true)
[ -z "$san" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && san=/usr/local/cuda/bin/compute-sanitizer
if [ -z "$san" ]; then
  echo "compute-sanitizer not found (install the CUDA toolkit's sanitizer): sanitizer checks NOT run" \
    | tee "$out/sanitizer.txt"
  exit 1
fi
: > "$out/sanitizer.txt"
for tool in memcheck racecheck synccheck initcheck; do
  extra=()
  [ "$tool" = memcheck ] && extra=(--leak-check no)
  [ "$tool" = racecheck ] && extra=(--racecheck-report all)
  "$san" --tool "$tool" "${extra[@]}" --error-exitcode 99 --target-processes all \
    "$py" -m pytest -q -x tests/gpu tests/emu/test_emu_harness.py -k "cuda or gpu" -p no:cacheprovider \
    > "$out/sanitizer-$tool.log" 2>&1
  rc=$?
  echo "compute-sanitizer --tool $tool: exit $rc ($(grep -c '========= ' "$out/sanitizer-$tool.log") report lines)" \
    | tee -a "$out/sanitizer.txt"
  [ $rc -ne 0 ] && status=1
done
exit $status
