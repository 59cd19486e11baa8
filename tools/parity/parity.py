#!/usr/bin/python3
"""Full-size parity: PyTorch vs libcortex on real-size models with random weights.

    /usr/bin/python3 tools/parity/parity.py [--build DIR] [--cases a,b | --all]
        [--isa scalar|avx2|avx512] [--threads N] [--work DIR] [--regen] [--prepare-only]

For each case: build the reference model (torchvision / tools/ref/cortex_ref.py) at full
size with random weights and random BatchNorm statistics, torch.save its state_dict,
write the input and the float64 reference logits into the work dir (tools/parity/work/
or $PARITY_WORK; reused on later runs unless --regen), then
    DIR/cortex-convert model.pth --arch ARCH [args] -o model.ctx
    DIR/cortex run model.ctx --input in.npy --output out.npy --threads N
and compare: err = max|cortex - torch| / max|torch|, PASS if err <= the case's tol.
Exit status 1 if any case fails (or a tool is missing), 2 on a usage error.

Adding a case: one row in CASES. Cases with default=False run only when named in
--cases (or with --all). convert_args may use {calib}: a calibration batch
(calib_n random inputs shaped like the input) is then written to calib.npy.

int8 cases (convert_args holding --int8) are judged by SQNR instead of max error:
    SQNR = 10 log10(sum ref^2 / sum (out - ref)^2)       (ref: PyTorch's float64 logits)
for cortex's int8 logits and for PyTorch's own post-training int8 on the same model,
calibration batch and input (FX graph mode: prepare_fx / convert_fx with the 'onednn'
qconfig mapping -- HistogramObserver activations, per-channel symmetric int8 weights --
calibrated with the same calib_n images, run on the onednn engine; cached as
torch_int8.npy). PASS if cortex's SQNR >= PyTorch's. With --int8-bench the int8 cases
also time `cortex-bench model ARCH [--int8]` at the case's shape (fp32 and int8).
"""
import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))

Case = collections.namedtuple("Case", "arch shape classes convert_args tol default calib_n",
                              defaults=((), 1e-4, True, 0))
CASES = collections.OrderedDict([
    # name                  arch                input shape           classes
    ("resnet50", Case("resnet50", (1, 3, 224, 224), 1000)),
    ("resnext101_32x8d", Case("resnext101_32x8d", (2, 3, 160, 192), 37)),
    ("resnet18", Case("resnet18", (3, 3, 67, 45), 5)),
    ("wide_resnet50_2", Case("wide_resnet50_2", (1, 3, 128, 128), 1000)),
    # later issues: off by default until the C side has them (run with --cases NAME)
    ("octresnet50", Case("octresnet50", (1, 3, 224, 224), 1000, ("--alpha", "0.25"), default=False)),
    ("octresnet50_a05", Case("octresnet50", (2, 3, 97, 131), 10, ("--alpha", "0.5"), default=False)),
    ("r3d_18", Case("r3d_18", (1, 3, 8, 112, 112), 400, default=False)),
    ("mc3_18", Case("mc3_18", (1, 3, 8, 112, 112), 400, default=False)),
    ("r2plus1d_18", Case("r2plus1d_18", (1, 3, 8, 112, 112), 400, default=False)),
    ("r2plus1d_34", Case("r2plus1d_34", (1, 3, 8, 112, 112), 400, default=False)),
    ("ir_csn_50", Case("ir_csn_50", (1, 3, 8, 112, 112), 400, default=False)),
    ("ip_csn_50", Case("ip_csn_50", (1, 3, 8, 112, 112), 400, default=False)),
    ("resnext3d_101", Case("resnext3d_101", (1, 3, 8, 112, 112), 400, default=False)),
    # int8 (docs/int8.md): judged by SQNR against PyTorch's own int8 (see the docstring)
    ("resnet50_int8", Case("resnet50", (1, 3, 224, 224), 1000, ("--int8", "--calib", "{calib}"),
                           default=False, calib_n=8)),
    ("resnext50_32x4d_int8", Case("resnext50_32x4d", (2, 3, 176, 144), 1000, ("--int8", "--calib", "{calib}"),
                                  default=False, calib_n=8)),
])


def die(msg, code=1):
    print(f"parity: error: {msg}", file=sys.stderr)
    sys.exit(code)


def spec_of(name, case):
    """What the cached files depend on (not the tolerance or the cortex-side args)."""
    alpha = _alpha(case)
    return {"case": name, "arch": case.arch, "shape": list(case.shape), "classes": case.classes,
            "alpha": alpha, "calib_n": case.calib_n, "gen": 2 if is_int8(case) else 1}


def is_int8(case):
    return "--int8" in case.convert_args


def sqnr_db(ref, y):
    import numpy as np
    ref = np.asarray(ref, np.float64)
    y = np.asarray(y, np.float64)
    return float(10 * np.log10((ref ** 2).sum() / max(((y - ref) ** 2).sum(), 1e-300)))


def torch_int8_logits(model, calib, x):
    """PyTorch FX post-training static int8 ('onednn' qconfig mapping), calibrated on calib."""
    import copy
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    m = copy.deepcopy(model).eval()
    prepared = prepare_fx(m, get_default_qconfig_mapping("onednn"), example_inputs=(calib[:1],))
    with torch.no_grad():
        for i in range(calib.shape[0]):
            prepared(calib[i:i + 1])
        q = convert_fx(prepared)
        return q(x).double().numpy()


def _alpha(case):
    a = list(case.convert_args)
    return float(a[a.index("--alpha") + 1]) if "--alpha" in a else 0.25


def prepare(name, case, wdir, regen):
    """Write model.pth, in.npy, ref.npy (float64) [, calib.npy] into wdir; returns meta."""
    spec = spec_of(name, case)
    mpath = os.path.join(wdir, "meta.json")
    files = ["model.pth", "in.npy", "ref.npy"] + (["calib.npy"] if case.calib_n else []) + \
        (["torch_int8.npy"] if is_int8(case) else [])
    if not regen and os.path.exists(mpath):
        try:
            meta = json.load(open(mpath))
            if meta.get("spec") == spec and all(os.path.exists(os.path.join(wdir, f)) for f in files):
                meta["cached"] = True
                return meta
        except (ValueError, OSError):
            pass

    import numpy as np
    import torch
    import common as C

    os.makedirs(wdir, exist_ok=True)
    t0 = time.time()
    model = C.build_full(case.arch, case.classes, _alpha(case))
    C.check_keys(model, case.arch, _alpha(case))
    seed = C.seed_for("parity:" + name)
    g = torch.Generator().manual_seed(seed ^ 0x5EED)
    x = torch.randn(case.shape, generator=g)
    C.randomize(model, x, seed)
    t_build = time.time() - t0

    t0 = time.time()
    with torch.no_grad():
        y32 = model(x).double().numpy()
    t_torch32 = time.time() - t0

    t0 = time.time()
    ref = C.reference(model, x).numpy()
    t_ref = time.time() - t0
    err32 = float(np.abs(y32 - ref).max() / np.abs(ref).max())

    torch.save(model.state_dict(), os.path.join(wdir, "model.pth"))
    C.save_npy(os.path.join(wdir, "in.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(wdir, "ref.npy"), ref.astype(np.float64))
    t_tq = 0
    if case.calib_n:
        cal = torch.randn((case.calib_n,) + tuple(case.shape[1:]), generator=g)
        C.save_npy(os.path.join(wdir, "calib.npy"), cal.numpy().astype(np.float32))
        if is_int8(case):
            t0 = time.time()
            np.save(os.path.join(wdir, "torch_int8.npy"), torch_int8_logits(model, cal, x))
            t_tq = time.time() - t0
    meta = {"t_torch_int8": t_tq, "spec": spec, "params": sum(p.numel() for p in model.parameters()),
            "t_build": t_build, "t_torch_fp32": t_torch32, "t_ref_fp64": t_ref,
            "err_torch_fp32": err32, "ref_absmax": float(np.abs(ref).max()),
            "torch_threads": torch.get_num_threads(),
            "sha256": hashlib.sha256(open(os.path.join(wdir, "model.pth"), "rb").read()).hexdigest()}
    json.dump(meta, open(mpath, "w"), indent=1)
    meta["cached"] = False
    return meta


def run_tool(argv, env):
    t0 = time.time()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return p, time.time() - t0


def show_failure(what, argv, p):
    print(f"  {what} failed (exit {p.returncode}): {' '.join(argv)}")
    for stream in (p.stderr, p.stdout):
        txt = stream.decode(errors="replace").rstrip()
        if txt:
            print("  | " + txt.replace("\n", "\n  | "))


def main():
    ap = argparse.ArgumentParser(description="PyTorch vs libcortex on full-size models",
                                 epilog="cases: " + ", ".join(
                                     n + ("" if c.default else "*") for n, c in CASES.items())
                                 + "  (* = only when named)")
    ap.add_argument("--build", default=os.environ.get("B", "build"),
                    help="directory holding cortex and cortex-convert (default: build)")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: the default set)")
    ap.add_argument("--all", action="store_true", help="run every case in the table")
    ap.add_argument("--isa", choices=("scalar", "avx2", "avx512"),
                    help="sets CORTEX_ISA for the cortex tools")
    ap.add_argument("--threads", type=int, default=2, help="cortex run --threads (default 2)")
    ap.add_argument("--work", default=os.environ.get("PARITY_WORK") or os.path.join(HERE, "work"),
                    help="work dir (default: $PARITY_WORK or tools/parity/work)")
    ap.add_argument("--regen", action="store_true", help="regenerate cached models and references")
    ap.add_argument("--prepare-only", action="store_true",
                    help="only write the PyTorch side (models, inputs, references)")
    ap.add_argument("--int8-bench", action="store_true",
                    help="int8 cases: also time cortex-bench model fp32 vs int8 (--threads 1 and --threads)")
    args = ap.parse_args()

    if args.all:
        names = list(CASES)
    elif args.cases:
        names = [c.strip() for c in args.cases.split(",") if c.strip()]
        for n in names:
            if n not in CASES:
                die(f"unknown case {n!r}; known: {', '.join(CASES)}", 2)
    else:
        names = [n for n, c in CASES.items() if c.default]

    build = args.build if os.path.isabs(args.build) else os.path.join(REPO, args.build)
    conv = os.path.join(build, "cortex-convert")
    cortex = os.path.join(build, "cortex")
    if not args.prepare_only:
        for tool in (conv, cortex):
            if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
                die(f"{tool} not found (or not executable); build it first with `make`"
                    f" (or pass --build DIR, or --prepare-only for the PyTorch side only)")

    env = dict(os.environ)
    if args.isa:
        env["CORTEX_ISA"] = args.isa

    print(f"parity: {len(names)} case(s), work dir {args.work}, cortex --threads {args.threads}"
          + (f", CORTEX_ISA={args.isa}" if args.isa else ""))
    results = []
    for name in names:
        case = CASES[name]
        wdir = os.path.join(args.work, name)
        shape = "x".join(map(str, case.shape))
        print(f"== {name}: {case.arch} {' '.join(case.convert_args)} input {shape}, "
              f"{case.classes} classes", flush=True)
        try:
            meta = prepare(name, case, wdir, args.regen)
        except Exception as e:  # a broken PyTorch side is a failed case, not a crash
            print(f"  PyTorch side failed: {type(e).__name__}: {e}")
            results.append((name, "FAIL", None))
            continue
        print(f"  torch: {meta['params']} params, max|logit| {meta['ref_absmax']:.3g}, "
              f"fp32 err {meta['err_torch_fp32']:.1e}; "
              + ("cached" if meta["cached"] else
                 f"build+init {meta['t_build']:.1f} s, fp32 forward {meta['t_torch_fp32']:.2f} s "
                 f"({meta['torch_threads']} threads), fp64 reference {meta['t_ref_fp64']:.1f} s"))
        if args.prepare_only:
            results.append((name, "PREPARED", None))
            continue

        P = lambda f: os.path.join(wdir, f)  # noqa: E731
        for f in ("model.ctx", "out.npy"):
            if os.path.exists(P(f)):
                os.remove(P(f))
        cargs = [a.replace("{calib}", P("calib.npy")) for a in case.convert_args]
        argv = [conv, P("model.pth"), "--arch", case.arch] + cargs + ["-o", P("model.ctx")]
        p, t_conv = run_tool(argv, env)
        if p.returncode != 0:
            show_failure("cortex-convert", argv, p)
            results.append((name, "FAIL", None))
            continue
        argv = [cortex, "run", P("model.ctx"), "--input", P("in.npy"), "--output", P("out.npy"),
                "--threads", str(args.threads)]
        p, t_run = run_tool(argv, env)
        if p.returncode != 0:
            show_failure("cortex run", argv, p)
            results.append((name, "FAIL", None))
            continue

        import numpy as np
        ref = np.load(P("ref.npy"))
        try:
            out = np.load(P("out.npy"))
        except Exception as e:
            print(f"  cannot read {P('out.npy')}: {e}")
            results.append((name, "FAIL", None))
            continue
        if out.shape != ref.shape or out.dtype != np.float32:
            print(f"  out.npy is {out.dtype} {out.shape}, expected float32 {ref.shape}")
            results.append((name, "FAIL", None))
            continue
        top1 = float((out.argmax(1) == ref.argmax(1)).mean())
        if is_int8(case):
            tq = np.load(P("torch_int8.npy"))
            ours, theirs = sqnr_db(ref, out), sqnr_db(ref, tq)
            ttop1 = float((tq.argmax(1) == ref.argmax(1)).mean())
            ok = np.isfinite(out).all() and ours >= theirs
            status = "PASS" if ok else "FAIL"
            print(f"  convert+calibrate {t_conv:.2f} s, run {t_run:.2f} s")
            print(f"  SQNR vs PyTorch fp32: cortex int8 {ours:.2f} dB (top-1 agree {top1:.2f}), "
                  f"PyTorch int8 (FX, onednn) {theirs:.2f} dB (top-1 agree {ttop1:.2f})  {status}")
            if args.int8_bench:
                bench = os.path.join(build, "cortex-bench")
                shp = "x".join(map(str, case.shape))
                for thr in sorted({1, args.threads}):
                    for extra in ([], ["--int8"]):
                        argv = [bench, "model", case.arch, "--shape", shp, "--threads", str(thr),
                                "--iters", "10", "--classes", str(case.classes)] + extra
                        p, _ = run_tool(argv, env)
                        print("  " + (p.stdout.decode(errors="replace").splitlines() or ["?"])[0])
            results.append((name, status, ours))
            continue
        err = float(np.abs(out.astype(np.float64) - ref).max() / np.abs(ref).max())
        ok = np.isfinite(out).all() and err <= case.tol
        status = "PASS" if ok else "FAIL"
        print(f"  convert {t_conv:.2f} s, run {t_run:.2f} s, max|cortex-torch|/max|torch| = "
              f"{err:.2e} (tol {case.tol:g}), top-1 agree {top1:.2f}  {status}")
        results.append((name, status, err))

    print("-- summary")
    for name, status, err in results:
        unit = "dB" if is_int8(CASES[name]) else ""
        print(f"  {name:22s} {status:8s} {'' if err is None else (f'{err:.2f} dB' if unit else f'{err:.2e}')}")
    failed = [n for n, s, _ in results if s == "FAIL"]
    if failed:
        print(f"parity: {len(failed)} of {len(results)} failed: {', '.join(failed)}")
        sys.exit(1)
    print(f"parity: all {len(results)} " + ("prepared" if args.prepare_only else "passed"))


if __name__ == "__main__":
    main()
