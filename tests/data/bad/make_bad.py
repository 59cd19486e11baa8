#!/usr/bin/python3
"""Makes the committed hostile fixtures of tests/bad_inputs.sh (run from the repo root):

    /usr/bin/python3 tests/data/bad/make_bad.py

*.ctx: well-formed .ctx files (valid layout and cxh64 checksums, docs/format.md)
whose content is wrong for the model loader: a checksum can't catch these, so
they test the loader's own checks. Written with the standard library only, from
a 1-channel-wide resnet18 (every conv has 1 output channel) so they stay tiny.
ok_tiny.ctx is that model unmodified: it must load (the script checks).

*.pth: small torch.save'd state_dicts that are wrong for --arch resnet18
(needs torch; skipped without it). Everything else the test makes itself.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
M64 = (1 << 64) - 1
K1, K2, K3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def cxh64(b, seed=0):
    n = len(b)
    a = [(seed + K1) & M64, (seed + K2) & M64, (seed + K3) & M64, seed ^ K1 ^ K3]

    def step(s, w):
        return (rotl(s ^ w, 31) * K1) & M64

    nw = n // 8
    i = 0
    while nw - i >= 4:
        for l in range(4):
            a[l] = step(a[l], int.from_bytes(b[8 * (i + l):8 * (i + l) + 8], "little"))
        i += 4
    lane = 0
    while i < nw:
        a[lane] = step(a[lane], int.from_bytes(b[8 * i:8 * i + 8], "little"))
        i += 1
        lane += 1
    if n % 8:
        a[lane] = step(a[lane], int.from_bytes(b[8 * nw:], "little"))
    h = (rotl(a[0], 1) + rotl(a[1], 7) + rotl(a[2], 12) + rotl(a[3], 18)) & M64
    h ^= (n * K3) & M64
    h ^= h >> 33
    h = (h * K2) & M64
    h ^= h >> 29
    h = (h * K3) & M64
    h ^= h >> 32
    return h


assert cxh64(b"") == 0x38ED3ED1FE0892F9
assert cxh64(b"abc") == 0x956EAB8FD29546CE
assert cxh64(bytes(range(64))) == 0x4AB2CC245C4695BB

F32, F16, I8 = 0, 1, 4
DSIZE = {0: 4, 1: 2, 2: 2, 3: 8, 4: 1, 5: 1, 6: 4, 7: 8}


def pad8(b):
    return b + bytes(-len(b) % 8)


def ctx_bytes(meta, tensors):
    """meta: [(key, kind, value)], kind in i64 f64 str strs; tensors: [(name, dtype, shape, data)]"""
    mb = b""
    for key, kind, v in meta:
        k = key.encode()
        t = {"i64": 0, "f64": 1, "str": 2, "strs": 3}[kind]
        mb += struct.pack("<II", len(k), t) + pad8(k)
        if kind == "i64":
            mb += struct.pack("<q", v)
        elif kind == "f64":
            mb += struct.pack("<d", v)
        elif kind == "str":
            mb += struct.pack("<Q", len(v.encode())) + pad8(v.encode())
        else:
            mb += struct.pack("<Q", len(v))
            for s in v:
                mb += struct.pack("<Q", len(s.encode())) + pad8(s.encode())
    table_off = 96 + len(mb)
    table_size = sum(48 - 8 + 8 * len(s) + len(pad8(n.encode())) for n, _, s, _ in tensors)
    data_off = (table_off + table_size + 63) // 64 * 64
    tb, body, pos = b"", b"", data_off
    for name, dt, shape, data in tensors:
        nb = len(data)
        tb += struct.pack("<IIIIQQQ", len(name.encode()), dt, len(shape), 0, pos, nb, cxh64(data))
        tb += b"".join(struct.pack("<q", d) for d in shape) + pad8(name.encode())
        body += data + bytes(-nb % 64)
        pos += nb + (-nb % 64)
    assert len(tb) == table_size
    file_size = data_off + len(body)
    if tensors and len(tensors[-1][3]) % 64:  # file ends at the end of the last tensor
        file_size -= -len(tensors[-1][3]) % 64
        body = body[:file_size - data_off]
    rest = mb + tb + bytes(data_off - table_off - table_size)
    hdr = b"CTXF" + struct.pack("<IIIQQQQQQQQQ", 1, 96, 64, file_size, len(meta), 96, len(mb), len(tensors),
                                 table_off, table_size, data_off, 0)
    assert len(hdr) == 88
    hdr += struct.pack("<Q", cxh64(rest, cxh64(hdr)))
    return hdr + rest + body


def f32(n, v=0.01):
    return struct.pack("<%df" % n, *([v] * n))


def conv(name, cout, cin, k):
    return [(name + ".weight", F32, [cout, cin, k, k], f32(cout * cin * k * k)),
            (name + ".bias", F32, [cout], f32(cout, 0.0))]


def tiny_resnet18(classes=3):
    t = conv("conv1", 1, 3, 7)
    for L in range(1, 5):
        for i in range(2):
            if L > 1 and i == 0:
                t += conv("layer%d.0.downsample.0" % L, 1, 1, 1)
            t += conv("layer%d.%d.conv1" % (L, i), 1, 1, 3)
            t += conv("layer%d.%d.conv2" % (L, i), 1, 1, 3)
    t += [("fc.weight", F32, [classes, 1], f32(classes)), ("fc.bias", F32, [classes], f32(classes, 0.0))]
    return t


def meta(arch="resnet18", classes=3, **kw):
    m = [("arch", "str", arch), ("dtype", "str", kw.get("dtype", "float32")), ("num_classes", "i64", classes),
         ("input_layout", "str", "NCHW"), ("bn_folded", "i64", 1), ("producer", "str", "make_bad.py")]
    return [e for e in m if e[0] not in kw.get("drop", ())] + kw.get("extra", [])


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print("wrote", name, len(data), "bytes")


def make_ctx():
    T = tiny_resnet18()
    c1w = T[0]
    write("ok_tiny.ctx", ctx_bytes(meta(), T))
    write("ctx_no_arch.ctx", ctx_bytes(meta(drop=("arch",)), T))
    write("ctx_unknown_arch.ctx", ctx_bytes(meta(arch="resnet9000"), T))
    write("ctx_dtype_float16.ctx", ctx_bytes(meta(dtype="float16"), T))
    write("ctx_no_tensors.ctx", ctx_bytes(meta(), []))
    write("ctx_conv1_int8.ctx", ctx_bytes(meta(), [("conv1.weight", I8, [1, 3, 7, 7], bytes(147))] + T[1:]))
    write("ctx_conv1_rank3.ctx", ctx_bytes(meta(), [("conv1.weight", F32, [1, 3, 49], c1w[3])] + T[1:]))
    write("ctx_conv1_4ch.ctx", ctx_bytes(meta(), conv("conv1", 1, 4, 7) + T[2:]))
    write("ctx_conv1_kernel5.ctx", ctx_bytes(meta(), conv("conv1", 1, 3, 5) + T[2:]))
    write("ctx_conv1_zero_dim.ctx", ctx_bytes(meta(), [("conv1.weight", F32, [0, 3, 7, 7], b"")] + T[1:]))
    write("ctx_conv1_huge_zero.ctx",
          ctx_bytes(meta(), [("conv1.weight", F32, [1 << 62, 0, 7, 7], b"")] + T[1:]))
    write("ctx_conv1_2e6_out.ctx", ctx_bytes(meta(), [("conv1.weight", F32, [2000000, 3, 0, 7], b"")] + T[1:]))
    write("ctx_conv1_no_bias.ctx", ctx_bytes(meta(), [c1w] + T[2:]))
    write("ctx_conv1_bias_len.ctx", ctx_bytes(meta(), [c1w, ("conv1.bias", F32, [2], f32(2))] + T[2:]))
    write("ctx_bias_2d.ctx", ctx_bytes(meta(), [c1w, ("conv1.bias", F32, [1, 1], f32(1))] + T[2:]))
    write("ctx_no_downsample.ctx", ctx_bytes(meta(), [t for t in T if "layer3.0.downsample" not in t[0]]))
    write("ctx_missing_fc_bias.ctx", ctx_bytes(meta(), T[:-1]))
    write("ctx_fc_rank3.ctx", ctx_bytes(meta(), T[:-2] + [("fc.weight", F32, [3, 1, 1], f32(3)), T[-1]]))
    write("ctx_fc_in2.ctx", ctx_bytes(meta(), T[:-2] + [("fc.weight", F32, [3, 2], f32(6)), T[-1]]))
    write("ctx_fc_zero.ctx", ctx_bytes(meta(), T[:-2] + [("fc.weight", F32, [0, 1], b""), T[-1]]))
    write("ctx_extra_tensor.ctx", ctx_bytes(meta(), T + [("foo.weight", F32, [1], f32(1))]))
    write("ctx_num_classes.ctx", ctx_bytes(meta(classes=1000), T))
    write("ctx_labels_count.ctx", ctx_bytes(meta(extra=[("labels", "strs", ["a", "b"])]), T))
    # an int8 model whose conv1 has int8 weights but no scales or activation parameters
    write("ctx_int8_no_qparams.ctx", ctx_bytes(meta(dtype="int8"),
                                               [("conv1.weight", I8, [1, 3, 7, 7], bytes(147))] + T[1:]))


def make_pth():
    try:
        import torch
    except ImportError:
        print("no torch: .pth fixtures not remade")
        return
    torch.manual_seed(0)

    def save(name, obj):
        p = os.path.join(HERE, name)
        torch.save(obj, p)
        print("wrote", name, os.path.getsize(p), "bytes")

    bn = lambda c, var=1.0: {"weight": torch.ones(c), "bias": torch.zeros(c), "running_mean": torch.zeros(c),
                             "running_var": torch.full((c,), var), "num_batches_tracked": torch.tensor(0)}
    stem = lambda **kw: dict({"conv1.weight": torch.randn(2, 3, 7, 7)},
                             **{"bn1." + k: v for k, v in bn(2, **kw).items()})
    save("pth_empty_dict.pth", {})
    save("pth_only_conv1.pth", {"conv1.weight": torch.randn(2, 3, 7, 7)})
    save("pth_conv1_int64.pth", {"conv1.weight": torch.zeros(2, 3, 7, 7, dtype=torch.int64)})
    save("pth_conv1_rank3.pth", {"conv1.weight": torch.randn(2, 3, 49)})
    s = stem()
    s["bn1.running_var"] = torch.ones(3)
    save("pth_bn_short.pth", s)
    save("pth_bn_negative_var.pth", stem(var=-1.0))
    save("pth_bn_nan_var.pth", stem(var=float("nan")))
    save("pth_list.pth", [torch.randn(2)])
    save("pth_nested.pth", {"a": {"conv1.weight": torch.randn(2, 3, 7, 7)}})
    save("pth_int_key.pth", {1: torch.randn(2)})


if __name__ == "__main__":
    make_ctx()
    make_pth()
