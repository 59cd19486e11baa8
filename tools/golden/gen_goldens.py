#!/usr/bin/python3
"""Generate libcortex's small-width golden tests: tests/data/golden/.

    /usr/bin/python3 tools/golden/gen_goldens.py [--out DIR] [--cases a,b] [--check]

For each case: <case>.pth (torch.save of the state_dict, zip format), <case>.in.npy
(float32 input, C order), <case>.out.npy (float32 logits, computed in float64 by
PyTorch from the float32 weights, eval mode), and a MANIFEST line
    <case> <arch> <alpha or -> <input shape NxCx[T]xHxW>

Models are the reference architectures with narrowed widths (see common.build_narrow):
blocks and forward are torchvision's / cortex_ref's own, the state_dict keys equal the
full-size model's (asserted). Weights are random with a per-case fixed seed, every
BatchNorm has non-trivial statistics, convs are scaled so activations stay O(1).
Generation is deterministic (single-threaded torch, per-case seeds): rerunning
reproduces the same numbers. --check regenerates in memory and compares against the
files on disk instead of writing.
"""
import argparse
import collections
import io
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

# name: arch, stage planes (real: 64,128,256,512), stem width (real: 64), classes,
#       input shape, extra:
#   alpha, width_per_group, stem_mid -- model parameters (see common.build_narrow)
#   ckpt  -- file layout: absent = plain torch.save(state_dict) (one zip record per
#            tensor); "packed" = all float tensors views into one storage (two records,
#            keeps deep nets small); "mixed" = training-script checkpoint with
#            {'state_dict': ...}, 'module.' prefixes, mixed dtypes, strided views
#   dtype -- "f16"/"bf16": weights rounded to that type and stored in it
# Widths are small to keep files small; several are deliberately not multiples of
# 4/8, and stages need not double (the C side reads every width from the shapes).
Case = collections.namedtuple("Case", "arch planes stem classes shape extra")
CASES = collections.OrderedDict([
    # 2-D ResNets (torchvision.models.resnet)
    ("resnet18", Case("resnet18", (8, 16, 32, 64), 8, 5, (3, 3, 37, 29), {})),
    ("resnet18_ckpt", Case("resnet18", (4, 4, 8, 8), 4, 4, (1, 3, 33, 35), {"ckpt": "mixed"})),
    ("resnet34", Case("resnet34", (4, 8, 8, 16), 4, 3, (2, 3, 40, 36), {"ckpt": "packed"})),
    ("resnet50", Case("resnet50", (4, 8, 12, 16), 8, 7, (1, 3, 45, 39), {})),
    ("resnet101", Case("resnet101", (2, 2, 4, 4), 4, 6, (1, 3, 32, 32), {"ckpt": "packed"})),
    ("resnet152", Case("resnet152", (2, 4, 4, 8), 4, 4, (1, 3, 35, 33), {"ckpt": "packed", "dtype": "f16"})),
    # groups stay 32: mid width int(planes*wpg/64)*32, i.e. 1..2 channels per group
    ("resnext50_32x4d", Case("resnext50_32x4d", (2, 2, 4, 4), 4, 10, (2, 3, 41, 27),
                             {"width_per_group": 32, "ckpt": "packed"})),
    ("resnext101_32x8d", Case("resnext101_32x8d", (2, 2, 2, 2), 4, 3, (1, 3, 36, 44),
                              {"width_per_group": 32, "ckpt": "packed", "dtype": "f16"})),
    ("wide_resnet50_2", Case("wide_resnet50_2", (3, 3, 6, 6), 6, 8, (1, 3, 39, 43), {"ckpt": "packed"})),
    # octave ResNet-50 (cortex_ref); widths 6*0.25 etc. truncate like the reference int()
    ("octresnet50_a025", Case("octresnet50", (6, 6, 6, 12), 6, 5, (2, 3, 33, 29), {"alpha": 0.25, "ckpt": "packed"})),
    ("octresnet50_a050", Case("octresnet50", (4, 8, 8, 8), 8, 6, (1, 3, 40, 36),
                              {"alpha": 0.5, "ckpt": "packed", "dtype": "f16"})),
    # video (torchvision.models.video and cortex_ref); inputs (N,3,T,H,W)
    ("r3d_18", Case("r3d_18", (4, 4, 8, 8), 4, 5, (1, 3, 5, 21, 19), {})),
    ("mc3_18", Case("mc3_18", (4, 4, 8, 8), 4, 4, (2, 3, 4, 18, 16), {})),
    ("r2plus1d_18", Case("r2plus1d_18", (4, 4, 8, 8), 4, 6, (1, 3, 6, 21, 19), {"stem_mid": 3})),
    ("r2plus1d_34", Case("r2plus1d_34", (4, 4, 4, 8), 4, 3, (1, 3, 4, 16, 18), {"ckpt": "packed", "dtype": "bf16"})),
    ("ir_csn_50", Case("ir_csn_50", (4, 4, 8, 8), 8, 5, (1, 3, 8, 18, 20), {})),
    ("ip_csn_50", Case("ip_csn_50", (4, 4, 8, 8), 8, 7, (1, 3, 7, 18, 14), {"ckpt": "packed"})),
    ("resnext3d_101", Case("resnext3d_101", (2, 2, 2, 2), 4, 3, (1, 3, 4, 16, 18),
                           {"width_per_group": 32, "ckpt": "packed", "dtype": "f16"})),
])


def build(name, case):
    kw = {k: v for k, v in case.extra.items() if k in ("alpha", "width_per_group", "stem_mid")}
    model = C.build_narrow(case.arch, case.planes, case.stem, case.classes, **kw)
    C.check_keys(model, case.arch, case.extra.get("alpha", 0.25))
    seed = C.seed_for(name)
    g = torch.Generator().manual_seed(seed ^ 0x5EED)
    x = torch.randn(case.shape, generator=g)
    C.randomize(model, x, seed)
    dt = case.extra.get("dtype") or ("bf16" if case.extra.get("ckpt") == "mixed" else None)
    if dt:
        _round_to(model, DTYPES[dt])
    sd = model.state_dict()
    if case.extra.get("dtype"):
        sd = collections.OrderedDict((k, t.to(DTYPES[dt]) if t.is_floating_point() else t)
                                     for k, t in sd.items())
    return model, x, sd


DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}


@torch.no_grad()
def _round_to(model, dtype):
    """Round every float tensor to values representable in dtype (in place), so that
    storing them in dtype is exact and the float64 reference sees the same numbers.
    (bfloat16-representable values are also exactly float16/float64/float32 ones, but
    float16 subnormals are checked by the callers that store float16.)"""
    for t in model.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.to(dtype).float())
            if dtype == torch.float16:
                assert torch.isfinite(t).all()


def _mixed_checkpoint(sd):
    """A checkpoint as training scripts write them: {'epoch', 'arch', 'state_dict',
    'best_acc1'}, keys with a 'module.' prefix (DataParallel), tensors in float16,
    bfloat16, float64, float32 non-contiguous (strided views into one shared storage,
    with offsets) and float32 transposed views. Values are unchanged (exact)."""
    items = [(k, t) for k, t in sd.items()]
    strided = [t for i, (k, t) in enumerate(items) if t.is_floating_point() and i % 5 == 3]
    shared = torch.zeros(sum(2 * t.numel() for t in strided) + 3)
    pos = 3
    out = collections.OrderedDict()
    for i, (k, t) in enumerate(items):
        v = t
        if t.is_floating_point():
            mode = i % 5
            if mode == 0:
                v = t.half() if torch.equal(t.half().float(), t) else t.bfloat16()
            elif mode == 1:
                v = t.bfloat16()
            elif mode == 2:
                v = t.double()
            elif mode == 3:
                st, s = [], 2
                for d in reversed(t.shape):
                    st.insert(0, s)
                    s *= d
                v = torch.as_strided(shared, t.shape, st, pos)
                v.copy_(t)
                pos += 2 * t.numel()
            elif mode == 4 and t.dim() >= 2:
                v = t.transpose(0, 1).contiguous().transpose(0, 1)
                assert not v.is_contiguous() or t.shape[0] == 1 or t.shape[1] == 1
        out["module." + k] = v
    return {"epoch": 90, "arch": "resnet18", "state_dict": out, "best_acc1": 69.758}


def _packed_checkpoint(sd):
    """The state_dict with every float tensor a view into one float32 storage and every
    integer tensor a view into one int64 storage (as flat-parameter trainers write them):
    a deep net then costs two zip records instead of one per tensor. Same keys, values."""
    fl = [t for t in sd.values() if t.is_floating_point()]
    assert len({t.dtype for t in fl}) <= 1
    it = [t for t in sd.values() if not t.is_floating_point()]
    fbuf = torch.cat([t.reshape(-1) for t in fl]) if fl else None
    ibuf = torch.cat([t.reshape(-1) for t in it]) if it else None
    out, fo, io_ = collections.OrderedDict(), 0, 0
    for k, t in sd.items():
        if t.is_floating_point():
            out[k] = fbuf[fo:fo + t.numel()].view(t.shape)
            fo += t.numel()
        else:
            out[k] = ibuf[io_:io_ + t.numel()].view(t.shape)
            io_ += t.numel()
        assert torch.equal(out[k], t)
    return out


def encode(name, case, model, x, sd):
    """(pth bytes, in array, out array, relative error of a float32 PyTorch run)"""
    ref64 = C.reference(model, x)
    with torch.no_grad():
        f32err = float((model(x).double() - ref64).abs().max() / ref64.abs().max())
    ref = ref64.float().numpy()
    buf = io.BytesIO()
    if case.extra.get("ckpt") == "mixed":
        obj = _mixed_checkpoint(sd)
        torch.save(obj, buf)
        # the stored values must be exactly the model's
        back = torch.load(io.BytesIO(buf.getvalue()))["state_dict"]
        for k, t in sd.items():
            assert torch.equal(back["module." + k].to(t.dtype), t), k
    else:
        if case.extra.get("ckpt") not in (None, "packed"):
            raise ValueError(case.extra["ckpt"])
        # saved through a path, as users do: the zip's record prefix is then the file's
        # stem ("<case>/data.pkl"); saving to a file object (above) gives "archive/"
        with tempfile.TemporaryDirectory() as td:
            tmp = os.path.join(td, name + ".pth")
            torch.save(_packed_checkpoint(sd) if case.extra.get("ckpt") == "packed" else sd, tmp)
            buf.write(open(tmp, "rb").read())
    return buf.getvalue(), x.numpy().astype(np.float32), ref, f32err


def shape_str(s):
    return "x".join(str(d) for d in s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default=os.path.join(C.REPO, "tests", "data", "golden"))
    ap.add_argument("--cases", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and compare with the files in --out")
    args = ap.parse_args()
    torch.set_num_threads(1)  # bitwise-reproducible reductions
    names = [c for c in args.cases.split(",") if c] or list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit(f"gen_goldens: unknown case {n!r}; known: {', '.join(CASES)}")
    os.makedirs(args.out, exist_ok=True)

    rows, bad = [], 0
    print(f"{'case':20s} {'arch':18s} {'alpha':>5s} {'input':>14s} {'params':>8s} "
          f"{'pth':>8s} {'in':>7s} {'out':>6s} {'|out|max':>8s} {'f32 err':>8s} {'s':>5s}")
    for n in names:
        t0 = time.time()
        case = CASES[n]
        model, x, sd = build(n, case)
        pth, xin, ref, f32err = encode(n, case, model, x, sd)
        alpha = case.extra.get("alpha")
        line = f"{n} {case.arch} {alpha if alpha is not None else '-'} {shape_str(case.shape)}"
        rows.append(line)
        paths = [os.path.join(args.out, n + s) for s in (".pth", ".in.npy", ".out.npy")]
        if args.check:
            ok = _same_file(paths[0], pth) or _same_tensors(paths[0], sd)
            ok = ok and np.array_equal(np.load(paths[1]), xin)
            ok = ok and np.allclose(np.load(paths[2]), ref, rtol=0, atol=1e-6 * np.abs(ref).max())
            bad += not ok
            status = "ok" if ok else "DIFFERS"
        else:
            with open(paths[0], "wb") as f:
                f.write(pth)
            C.save_npy(paths[1], xin)
            C.save_npy(paths[2], ref)
            status = ""
        sizes = [len(pth), os.path.getsize(paths[1]) if os.path.exists(paths[1]) else 0,
                 os.path.getsize(paths[2]) if os.path.exists(paths[2]) else 0]
        print(f"{n:20s} {case.arch:18s} {str(alpha or '-'):>5s} {shape_str(case.shape):>14s} "
              f"{C.n_params(model):8d} {sizes[0]:8d} {sizes[1]:7d} {sizes[2]:6d} "
              f"{np.abs(ref).max():8.3f} {f32err:8.1e} {time.time() - t0:5.1f} {status}")

    if not args.check:
        # MANIFEST lists every case in the directory; a subset run updates its lines only
        mpath = os.path.join(args.out, "MANIFEST")
        old = {}
        if os.path.exists(mpath):
            for ln in open(mpath):
                if ln.strip() and not ln.startswith("#"):
                    old[ln.split()[0]] = ln.strip()
        for ln in rows:
            old[ln.split()[0]] = ln
        order = [c for c in CASES if c in old] + sorted(c for c in old if c not in CASES)
        with open(mpath, "w") as f:  # no comments: format in tools/golden/README.md
            for c in order:
                f.write(old[c] + "\n")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"total size of {args.out}: {total} bytes ({total / 2**20:.2f} MiB)")
    if bad:
        sys.exit(f"gen_goldens: {bad} case(s) differ from the files on disk")


def _same_file(path, data):
    return os.path.exists(path) and open(path, "rb").read() == data


def _same_tensors(path, sd):
    if not os.path.exists(path):
        return False
    got = torch.load(path)
    got = got.get("state_dict", got)
    got = {k[7:] if k.startswith("module.") else k: v for k, v in got.items()}
    return set(got) == set(sd) and all(torch.equal(got[k].to(t.dtype), t) for k, t in sd.items())


if __name__ == "__main__":
    main()
