#!/usr/bin/python3
"""Writes the small PyTorch checkpoint fixtures of tests/test_pth.c into
tests/data/pth/ and their expected contents into tests/data/pth/expected.txt.

Needs Debian's PyTorch: run with /usr/bin/python3 (not a venv python).
    /usr/bin/python3 tools/golden/make_pth_fixtures.py
Deterministic (fixed seeds); rerunning rewrites the same values (zip
timestamps may differ).

expected.txt lines:
    file NAME COUNT          the checkpoint reads back with COUNT float tensors,
    t KEY NDIM D0.. HEX..    one per tensor: shape, then float32 bit patterns (C order)
    error NAME STATUS TEXT   reading fails with cortex_status STATUS and an error
                             message containing TEXT (rest of the line)
"""
import argparse
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "pth")
OUT = os.path.normpath(OUT)

# cortex_status codes (include/cortex.h)
FORMAT, CORRUPT, UNSUPPORTED = 3, 4, 5

expected = []


def hexbits(t):
    t = t.detach().to(torch.float32).contiguous().reshape(-1)
    return ["%08x" % struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in t.tolist()]


def expect(name, sd):
    """sd: the key -> tensor mapping the reader should produce (float only)."""
    items = [(k, v) for k, v in sd.items() if v.dtype.is_floating_point]
    expected.append("file %s %d" % (name, len(items)))
    for k, v in items:
        dims = list(v.shape)
        expected.append(" ".join(["t", k, str(len(dims))] + [str(d) for d in dims] + hexbits(v)))


def expect_error(name, status, text):
    expected.append("error %s %d %s" % (name, status, text))


def path(name):
    return os.path.join(OUT, name)


def save(obj, name, **kw):
    torch.save(obj, path(name), **kw)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3, 2)


def tiny_state_dict():
    torch.manual_seed(1234)
    m = Tiny()
    with torch.no_grad():
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.5, 0.5)
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.num_batches_tracked.fill_(7)
    return m, m.state_dict()


def rewrite_zip(src, dst, compression=zipfile.ZIP_STORED, extra=None):
    """Copies a torch zip with Python's zipfile (no data descriptors, other
    alignment); extra: {suffix: bytes} entries added under the same prefix."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", compression=compression) as zo:
        prefix = zi.namelist()[0].split("/")[0]
        for info in zi.infolist():
            zo.writestr(info.filename, zi.read(info.filename))
        for k, v in (extra or {}).items():
            zo.writestr(prefix + "/" + k, v)


def write_zip64(entries, dst):
    """A stored zip where every entry uses ZIP64 extra fields (sizes and offsets
    as 0xFFFFFFFF sentinels) in both local and central headers, plus the ZIP64
    end records. Data is deliberately left unaligned."""
    out = io.BytesIO()
    central = []
    for name, data in entries:
        nb = name.encode()
        off = out.tell()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        lextra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                              0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(lextra)))
        out.write(nb + lextra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                                   0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0,
                                   0xFFFFFFFF) + nb + cextra)
    cd_off = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_off
    z64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                          cd_size, cd_off))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(dst, "wb") as f:
        f.write(out.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".pth") or f == "expected.txt":
            os.remove(os.path.join(OUT, f))

    model, sd = tiny_state_dict()

    # plain state_dicts in each float type (num_batches_tracked stays int64: skipped)
    save(sd, "sd_f32.pth")
    expect("sd_f32.pth", sd)
    for tag, dt in (("f16", torch.float16), ("bf16", torch.bfloat16), ("f64", torch.float64)):
        sdt = {k: (v.to(dt) if v.dtype.is_floating_point else v) for k, v in sd.items()}
        save(sdt, "sd_%s.pth" % tag)
        expect("sd_%s.pth" % tag, sdt)

    # views: transposed, sliced (storage offset), shared storage, strided column,
    # stride-0 expansion, permuted 4-D, empty, and non-float tensors (skipped)
    torch.manual_seed(5)
    base = torch.randn(3, 5)
    big = torch.randn(8, 2)
    shared = torch.randn(2, 4)
    cube = torch.randn(2, 3, 4, 2)
    views = {
        "transposed": base.t(),
        "slice": big[2:5],
        "shared_a": shared[0],
        "shared_b": shared[1],
        "shared_all": shared,
        "column": base[:, 1],
        "expanded": torch.arange(3.0).view(3, 1).expand(3, 4),
        "permuted": cube.permute(0, 3, 1, 2),
        "strided": big[1::3],
        "empty": torch.zeros(0, 3),
        "mask": torch.tensor([True, False, True]),
        "index": torch.tensor([1, 2, 3], dtype=torch.int32),
    }
    save(views, "views.pth")
    expect("views.pth", views)

    # wrappers, DataParallel prefix, 0-dim, protocol 4, Parameter, zip variants
    save({"state_dict": sd, "epoch": 3, "arch": "tiny", "best_acc1": 0.75, "extra": [1, 2.5, None]},
         "wrap_state_dict.pth")
    expect("wrap_state_dict.pth", sd)
    save({"model": sd}, "wrap_model.pth")
    expect("wrap_model.pth", sd)
    save({"module." + k: v for k, v in sd.items()}, "module_prefix.pth")
    expect("module_prefix.pth", sd)
    scal = {"scalar": torch.tensor(3.5), "vec": torch.tensor([1.0, -2.0])}
    save(scal, "scalar.pth")
    expect("scalar.pth", scal)
    save(sd, "proto4.pth", pickle_protocol=4)
    expect("proto4.pth", sd)
    params = {"w": nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]])), "b": nn.Parameter(torch.tensor([0.5]))}
    save(params, "param.pth")
    expect("param.pth", params)
    rewrite_zip(path("sd_f32.pth"), path("pyzip.pth"), extra={"byteorder": b"little"})
    expect("pyzip.pth", sd)
    with zipfile.ZipFile(path("sd_f32.pth")) as zi:
        write_zip64([(i.filename, zi.read(i.filename)) for i in zi.infolist()], path("zip64.pth"))
    expect("zip64.pth", sd)

    # errors
    save(sd, "legacy.pth", _use_new_zipfile_serialization=False)
    expect_error("legacy.pth", FORMAT, "legacy (pre-1.6)")
    save(model, "module.pth")
    expect_error("module.pth", UNSUPPORTED, "pickle global '")
    save({"state_dict": sd, "args": argparse.Namespace(lr=0.1)}, "object.pth")
    expect_error("object.pth", UNSUPPORTED, "argparse.Namespace")
    with zipfile.ZipFile(path("load_from_bytes.pth"), "w") as zo:
        zo.writestr("load_from_bytes/data.pkl", pickle.dumps({"w": torch.ones(2)}, protocol=2))
        zo.writestr("load_from_bytes/version", b"3\n")
    expect_error("load_from_bytes.pth", UNSUPPORTED, "_load_from_bytes")
    rewrite_zip(path("sd_f32.pth"), path("deflated.pth"), compression=zipfile.ZIP_DEFLATED)
    expect_error("deflated.pth", UNSUPPORTED, "compressed")
    rewrite_zip(path("sd_f32.pth"), path("bigendian.pth"), extra={"byteorder": b"big"})
    expect_error("bigendian.pth", UNSUPPORTED, "big-endian")
    save({"w": torch.ones(2), "n": 5}, "nontensor.pth")
    expect_error("nontensor.pth", FORMAT, "'n' is an int")
    save({"c": torch.zeros(2, dtype=torch.complex64)}, "complex.pth")
    expect_error("complex.pth", UNSUPPORTED, "ComplexFloatStorage")
    save({"module.w": torch.ones(2), "w": torch.zeros(2)}, "dupkey.pth")
    expect_error("dupkey.pth", CORRUPT, "duplicate state_dict key 'w'")
    save(torch.ones(3), "bare_tensor.pth")
    expect_error("bare_tensor.pth", FORMAT, "holds a tensor")

    # every good fixture must load in torch and match what we expect
    for line in expected:
        if line.startswith("file "):
            name = line.split()[1]
            obj = torch.load(path(name))
            assert isinstance(obj, dict), name

    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# written by tools/golden/make_pth_fixtures.py; see its docstring for the format\n")
        f.write("\n".join(expected) + "\n")
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, into %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
