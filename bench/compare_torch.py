#!/usr/bin/python3
"""PyTorch side of bench/compare.

Builds a torchvision model with random weights, times eager and frozen
TorchScript variants, prints one JSON line on stdout, and (optionally) writes
the ONNX export that bench/compare_ort.js runs.

  /usr/bin/python3 bench/compare_torch.py --arch resnet50 --shape 1x3x224x224 \
      --threads 2 --iters 20 [--warmup 3] [--variants eager,jit_frozen,...]
      [--export bench/.cache/resnet50_1x3x224x224.onnx] [--export-only]

Variants (the best by median is reported at the top level; all are listed;
default eager,jit_frozen,jit_ofi):
  eager          model(x) under torch.inference_mode
  eager_cl       eager with model and input in channels_last
  jit_frozen     torch.jit.trace + torch.jit.freeze
  jit_ofi        torch.jit.optimize_for_inference(traced) (freezes + oneDNN fusions)
"""
import argparse
import json
import os
import statistics
import sys
import time

# ---------------------------------------------------------------------------
# Arch table: name -> (module, builder name, input rank). Extend here; for
# video models (r2plus1d_18, r3d_18, mc3_18 from torchvision.models.video) the
# input is N x C x T x H x W, e.g. --shape 1x3x16x112x112. Module "ref": the
# archs torchvision lacks, from tools/ref/cortex_ref.py (octresnet50 at its
# default alpha 0.25, as cortex-bench without --alpha).
# ---------------------------------------------------------------------------
ARCHS = {
    "resnet18": ("models", "resnet18", 4),
    "resnet34": ("models", "resnet34", 4),
    "resnet50": ("models", "resnet50", 4),
    "resnet101": ("models", "resnet101", 4),
    "resnet152": ("models", "resnet152", 4),
    "resnext50_32x4d": ("models", "resnext50_32x4d", 4),
    "resnext101_32x8d": ("models", "resnext101_32x8d", 4),
    "resnext101_64x4d": ("models", "resnext101_64x4d", 4),
    "wide_resnet50_2": ("models", "wide_resnet50_2", 4),
    "wide_resnet101_2": ("models", "wide_resnet101_2", 4),
    "r3d_18": ("models.video", "r3d_18", 5),
    "mc3_18": ("models.video", "mc3_18", 5),
    "r2plus1d_18": ("models.video", "r2plus1d_18", 5),
    "octresnet50": ("ref", "octresnet50", 4),
    "r2plus1d_34": ("ref", "r2plus1d_34", 5),
    "ir_csn_50": ("ref", "ir_csn_50", 5),
    "ir_csn_101": ("ref", "ir_csn_101", 5),
    "ir_csn_152": ("ref", "ir_csn_152", 5),
    "ip_csn_50": ("ref", "ip_csn_50", 5),
    "ip_csn_101": ("ref", "ip_csn_101", 5),
    "ip_csn_152": ("ref", "ip_csn_152", 5),
    "resnext3d_101": ("ref", "resnext3d_101", 5),
}


def build_model(arch):
    import importlib
    import torch
    if arch not in ARCHS:
        raise SystemExit("compare_torch: unknown arch %r (known: %s)" % (arch, ", ".join(sorted(ARCHS))))
    modname, fn, rank = ARCHS[arch]
    if modname == "ref":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "ref"))
        mod = importlib.import_module("cortex_ref")
    else:
        mod = importlib.import_module("torchvision." + modname)
    torch.manual_seed(0)
    m = getattr(mod, fn)()  # random weights (torchvision 0.14: no weights by default)
    # Random BN statistics, like cortex-bench's random model, so BN is not identity.
    with torch.no_grad():
        for b in m.modules():
            if isinstance(b, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
                b.running_mean.uniform_(-0.1, 0.1)
                b.running_var.uniform_(0.5, 1.5)
    return m.eval(), rank


def loaded_blas():
    """Which BLAS the process mapped: Debian's torch uses libblas.so.3, i.e. whatever
    the alternatives system points at (netlib reference BLAS unless OpenBLAS/BLIS is
    installed); eager convolutions that do not go to oneDNN run on it."""
    try:
        with open("/proc/self/maps") as f:
            libs = {l.split()[-1] for l in f if "blas" in l.lower() or "mkl" in l.lower()}
    except OSError:
        return "?"
    names = sorted({"/".join(os.path.realpath(l).split("/")[-2:]) for l in libs if l.startswith("/")})
    return "+".join(names) or "none"


def aten_capability():
    """ATen's vectorized-kernel level (the oneDNN ISA is separate: DNNL_VERBOSE=1)."""
    import torch
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "?"


def time_fn(fn, x, warmup, iters):
    import torch
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        ts = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn(x)
            ts.append((time.perf_counter() - t0) * 1e3)
    return ts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--shape", default="1x3x224x224")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--variants", default="eager,jit_frozen,jit_ofi")
    ap.add_argument("--export", default=None, help="write ONNX here if missing")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    shape = [int(s) for s in a.shape.lower().split("x")]
    model, rank = build_model(a.arch)
    if len(shape) != rank:
        raise SystemExit("compare_torch: %s wants a rank-%d shape, got %s" % (a.arch, rank, a.shape))
    x = torch.randn(*shape)

    if a.export and not os.path.exists(a.export):
        os.makedirs(os.path.dirname(os.path.abspath(a.export)), exist_ok=True)
        tmp = a.export + ".tmp%d" % os.getpid()
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=a.opset, input_names=["input"],
                              output_names=["output"], do_constant_folding=True)
        os.replace(tmp, a.export)
    if a.export_only:
        print(json.dumps({"engine": "torch", "exported": a.export}))
        return

    results = {}
    errors = {}
    for v in a.variants.split(","):
        v = v.strip()
        try:
            with torch.inference_mode():
                if v == "eager":
                    fn, xin = model, x
                elif v == "eager_cl":
                    mcl = model.to(memory_format=torch.channels_last) if rank == 4 else None
                    if mcl is None:
                        continue
                    fn, xin = mcl, x.contiguous(memory_format=torch.channels_last)
                elif v in ("jit_frozen", "jit_ofi"):
                    m = model.to(memory_format=torch.contiguous_format)
                    with torch.no_grad():
                        tr = torch.jit.trace(m, x, check_trace=False)
                    tr = tr.eval()
                    if v == "jit_frozen":
                        fn = torch.jit.freeze(tr)
                    else:
                        fn = torch.jit.optimize_for_inference(tr)
                    xin = x
                else:
                    raise ValueError("unknown variant")
            ts = time_fn(fn, xin, a.warmup, a.iters)
            results[v] = {"med": statistics.median(ts), "min": min(ts)}
        except Exception as e:  # report and go on with the other variants
            errors[v] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        finally:
            model = model.to(memory_format=torch.contiguous_format)

    if not results:
        print(json.dumps({"engine": "torch", "error": errors}))
        sys.exit(1)
    best = min(results, key=lambda k: results[k]["med"])
    out = {
        "engine": "torch", "arch": a.arch, "shape": a.shape, "threads": a.threads,
        "iters": a.iters, "variant": best,
        "ms_median": results[best]["med"], "ms_min": results[best]["min"],
        "variants": results, "torch": torch.__version__, "blas": loaded_blas(),
        "cpu_capability": aten_capability(),
    }
    if errors:
        out["errors"] = errors
    print(json.dumps(out))


if __name__ == "__main__":
    main()
