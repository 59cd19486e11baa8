#!/usr/bin/python3
"""Generate libcortex's int8 goldens: tests/data/golden_int8/.

    /usr/bin/python3 tools/golden/gen_int8_goldens.py [--out DIR] [--cases a,b] [--check]

For a few narrow models of tests/data/golden/ (their .pth files are reused, not copied):
  <case>.calib.npy  8 calibration inputs, float32 (8,3,H,W) or (8,3,T,H,W), standard normal
  <case>.in.npy     a test input (2,3,H,W) or (2,3,T,H,W) from the same distribution
  <case>.out.npy    PyTorch's fp32 logits for it (computed in float64 from the fp32 weights)
and a MANIFEST line
  <case> <arch> <min SQNR dB> <PyTorch int8 SQNR dB>
tests/test_int8.c converts <case>.pth with --int8 --calib <case>.calib.npy in process, runs
<case>.in.npy on every int8 kernel table and requires SQNR(cortex int8 vs PyTorch fp32) >=
<min SQNR dB> (6 dB less on the 7-bit-weight tables). The threshold is set in THRESHOLDS below
from measurement (see docs/int8.md); the last column is informational: the SQNR of PyTorch's
own post-training int8 (FX graph mode, 'onednn' qconfig mapping: HistogramObserver
activations, per-channel symmetric int8 weights) on the same model, calibration and input,
nan where PyTorch cannot run the model in int8 (its quantized CPU backend has no max_pool3d,
which the CSN nets and resnext3d_101 use).
Deterministic (fixed seeds, single thread); --check regenerates and compares.
"""
import argparse
import collections
import copy
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common as C  # noqa: E402
import gen_goldens as G  # noqa: E402

# case (a name in gen_goldens.CASES) -> calibration / test input H, W (T, H, W for video nets)
CASES = collections.OrderedDict([
    ("resnet18", (26, 24)),
    ("resnet50", (26, 24)),
    ("resnext50_32x4d", (24, 26)),
    ("octresnet50_a025", (26, 24)),
    ("r2plus1d_18", (4, 16, 14)),
    ("ir_csn_50", (4, 14, 16)),
    ("mc3_18", (4, 14, 16)),
    ("ip_csn_50", (4, 16, 14)),
    ("resnext3d_101", (4, 14, 14)),
])
# minimum SQNR (dB) of cortex int8 vs PyTorch fp32, per case: measured on every 8-bit table
# with the default options (docs/int8.md: 35.4, 31.7, 38.7, 26.6, 23.1, 25.5, 34.7, 37.5,
# 30.4 dB) minus 3 dB, rounded down
THRESHOLDS = {"resnet18": 32, "resnet50": 28, "resnext50_32x4d": 35, "octresnet50_a025": 23,
              "r2plus1d_18": 20, "ir_csn_50": 22, "mc3_18": 31, "ip_csn_50": 34,
              "resnext3d_101": 27}
N_CALIB, N_TEST = 8, 2


def sqnr(ref, y):
    ref = np.asarray(ref, np.float64)
    y = np.asarray(y, np.float64)
    return float(10 * np.log10((ref ** 2).sum() / max(((y - ref) ** 2).sum(), 1e-300)))


def load_model(name):
    case = G.CASES[name]
    kw = {k: v for k, v in case.extra.items() if k in ("alpha", "width_per_group", "stem_mid")}
    model = C.build_narrow(case.arch, case.planes, case.stem, case.classes, **kw)
    sd = torch.load(os.path.join(C.REPO, "tests", "data", "golden", name + ".pth"))
    if "state_dict" in sd:
        sd = sd["state_dict"]
    sd = {k[7:] if k.startswith("module.") else k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    model.load_state_dict(sd, strict=True)
    return model.eval(), case


def torch_int8(model, calib, x):
    """PyTorch FX post-training static int8 of model, calibrated on calib, run on x."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    # FX warns for every packed weight of a 3-D conv; the warning does not affect the result
    warnings.filterwarnings("ignore", message=".*does not reference an nn.Module.*")
    m = copy.deepcopy(model).eval()
    prepared = prepare_fx(m, get_default_qconfig_mapping("onednn"), example_inputs=(calib[:1],))
    with torch.no_grad():
        for i in range(calib.shape[0]):
            prepared(calib[i:i + 1])
        q = convert_fx(prepared)
        return q(x).double().numpy()


def make(name):
    model, case = load_model(name)
    dims = tuple(CASES[name])
    g = torch.Generator().manual_seed(C.seed_for("int8:" + name))
    calib = torch.randn((N_CALIB, 3) + dims, generator=g)
    x = torch.randn((N_TEST, 3) + dims, generator=g)
    ref = C.reference(model, x).numpy()
    try:
        tdb = sqnr(ref, torch_int8(model, calib, x))
    except (RuntimeError, NotImplementedError):
        tdb = float("nan")   # PyTorch's int8 has no kernel for some ops (quantized max_pool3d)
    return case, calib.numpy().astype(np.float32), x.numpy().astype(np.float32), ref.astype(np.float32), tdb


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default=os.path.join(C.REPO, "tests", "data", "golden_int8"))
    ap.add_argument("--cases", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--check", action="store_true", help="regenerate in memory and compare with --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = [c for c in args.cases.split(",") if c] or list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit(f"gen_int8_goldens: unknown case {n!r}; known: {', '.join(CASES)}")
    os.makedirs(args.out, exist_ok=True)
    rows, bad = [], 0
    for n in names:
        case, calib, x, ref, tdb = make(n)
        rows.append(f"{n} {case.arch} {THRESHOLDS[n]} {tdb:.1f}")
        files = {".calib.npy": calib, ".in.npy": x, ".out.npy": ref}
        for suf, arr in files.items():
            p = os.path.join(args.out, n + suf)
            if args.check:
                if not (os.path.exists(p) and np.array_equal(np.load(p), arr)):
                    print(f"  {p}: differs")
                    bad += 1
            else:
                C.save_npy(p, arr)
        print(f"{n:18s} {case.arch:16s} calib {calib.shape} test {x.shape} PyTorch int8 SQNR {tdb:.1f} dB")
    man = os.path.join(args.out, "MANIFEST")
    text = "# name arch min_sqnr_db torch_int8_sqnr_db  (tools/golden/gen_int8_goldens.py)\n" + "\n".join(rows) + "\n"
    if args.check:
        if not os.path.exists(man) or open(man).read() != text:
            print(f"  {man}: differs")
            bad += 1
        sys.exit(1 if bad else 0)
    open(man, "w").write(text)


if __name__ == "__main__":
    main()
