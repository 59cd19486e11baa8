#!/bin/sh
# make demo: what libcortex does, with nothing downloaded.
#  1. a PyTorch checkpoint (a small ResNeXt-101 32x8d-shaped net from tests/data/golden,
#     written by torch.save) is converted, inspected and run; its logits are compared
#     with PyTorch's own;
#  2. a built-in ResNet-50 with random weights is timed on every kernel table this CPU
#     runs, then on all threads, and a few layer shapes give GFLOP/s.
set -eu
B=${B:-build}
G=tests/data/golden
W=$B/demo
mkdir -p "$W"
echo "== 1. PyTorch checkpoint -> .ctx -> logits, against PyTorch"
"$B/cortex-convert" $G/resnext101_32x8d.pth --arch resnext101_32x8d -o "$W/rx.ctx"
"$B/cortex" info "$W/rx.ctx" | sed -n '1,9p'
"$B/cortex" run "$W/rx.ctx" --input $G/resnext101_32x8d.in.npy --output "$W/logits.npy"
printf 'cortex vs PyTorch: '
"$B/npy-diff" "$W/logits.npy" $G/resnext101_32x8d.out.npy 1e-4
echo
echo "== 2. ResNet-50, random weights, 1x3x224x224 (median of 10 runs)"
for isa in scalar avx2 avx512; do
  if [ "$isa" = scalar ]; then it=2; else it=10; fi
  "$B/cortex-bench" model resnet50 --isa $isa --iters $it --warmup 1 2>/dev/null | head -1 || echo "       ($isa: not available on this CPU)"
done
n=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if [ "$n" -gt 1 ]; then "$B/cortex-bench" model resnet50 --threads "$n" --iters 10 | head -1; fi
echo
echo "== 3. GEMM and convolution layers (best kernel table, 1 thread)"
"$B/cortex-bench" gemm 1024 1024 1024 --iters 5
"$B/cortex-bench" conv --shape 1x64x56x56 --out 64 --kernel 3x3 --iters 10
"$B/cortex-bench" conv --shape 1x256x56x56 --out 64 --kernel 1x1 --iters 10
"$B/cortex-bench" conv --shape 1x512x28x28 --out 512 --kernel 3x3 --groups 32 --iters 10
