"""Shared helpers for libcortex's PyTorch-side test data (goldens and parity).

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

What lives here:
  * FULL      -- arch name (the CONTRACT's --arch value) -> full-size reference model
  * narrow_*  -- the same architectures with narrowed widths: the blocks and the
                 forward pass are the reference's own (torchvision / cortex_ref), only
                 the base widths are parameters; state_dict keys are identical to the
                 full-size model's (check_keys asserts it)
  * randomize -- random weights + non-trivial BatchNorm statistics, with conv weights
                 rescaled on the actual input so activations stay O(1) at any depth
  * reference -- float64 logits of a float32 model (a float64 copy runs the input)
  * save_case -- <name>.pth / .in.npy / .out.npy
"""
import copy
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "ref"))

import cortex_ref  # noqa: E402  (tools/ref/cortex_ref.py, a copy of shared/ref)
import torchvision.models.resnet as tvr  # noqa: E402
import torchvision.models.video.resnet as tvv  # noqa: E402

# ------------------------------------------------------------------ arch tables

# 2-D ResNet family: block, depths, groups, width_per_group (torchvision ResNet args)
RESNET_2D = {
    "resnet18": (tvr.BasicBlock, (2, 2, 2, 2), 1, 64),
    "resnet34": (tvr.BasicBlock, (3, 4, 6, 3), 1, 64),
    "resnet50": (tvr.Bottleneck, (3, 4, 6, 3), 1, 64),
    "resnet101": (tvr.Bottleneck, (3, 4, 23, 3), 1, 64),
    "resnet152": (tvr.Bottleneck, (3, 8, 36, 3), 1, 64),
    "resnext50_32x4d": (tvr.Bottleneck, (3, 4, 6, 3), 32, 4),
    "resnext101_32x4d": (tvr.Bottleneck, (3, 4, 23, 3), 32, 4),
    "resnext101_32x8d": (tvr.Bottleneck, (3, 4, 23, 3), 32, 8),
    "resnext101_32x16d": (tvr.Bottleneck, (3, 4, 23, 3), 32, 16),
    "resnext101_32x32d": (tvr.Bottleneck, (3, 4, 23, 3), 32, 32),
    "resnext101_32x48d": (tvr.Bottleneck, (3, 4, 23, 3), 32, 48),
    "wide_resnet50_2": (tvr.Bottleneck, (3, 4, 6, 3), 1, 128),
    "wide_resnet101_2": (tvr.Bottleneck, (3, 4, 23, 3), 1, 128),
}

# torchvision-layout video nets: conv makers per stage, depths, stem
VIDEO_TV = {
    "r3d_18": ([tvv.Conv3DSimple] * 4, (2, 2, 2, 2), "basic"),
    "mc3_18": ([tvv.Conv3DSimple] + [tvv.Conv3DNoTemporal] * 3, (2, 2, 2, 2), "basic"),
    "r2plus1d_18": ([tvv.Conv2Plus1D] * 4, (2, 2, 2, 2), "r2plus1d"),
    "r2plus1d_34": ([tvv.Conv2Plus1D] * 4, (3, 4, 6, 3), "r2plus1d"),  # cortex_ref.r2plus1d_34
}

CSN_ARCHS = {f"{m}_csn_{d}": (m, cortex_ref._DEPTHS[d]) for m in ("ir", "ip") for d in (50, 101, 152)}

VIDEO_ARCHS = set(VIDEO_TV) | set(CSN_ARCHS) | {"resnext3d_101"}
ALL_ARCHS = set(RESNET_2D) | VIDEO_ARCHS | {"octresnet50"}


def is_video(arch):
    return arch in VIDEO_ARCHS


def build_full(arch, num_classes=1000, alpha=0.25):
    """The full-size reference model, exactly as the CONTRACT names it."""
    if arch in RESNET_2D:
        block, layers, g, w = RESNET_2D[arch]
        return tvr.ResNet(block, list(layers), num_classes=num_classes, groups=g, width_per_group=w)
    if arch == "octresnet50":
        return cortex_ref.octresnet50(alpha=alpha, num_classes=num_classes)
    if arch in ("r3d_18", "mc3_18", "r2plus1d_18"):
        return getattr(tvv, arch)(num_classes=num_classes)
    if arch == "r2plus1d_34":
        return cortex_ref.r2plus1d_34(num_classes=num_classes)
    if arch in CSN_ARCHS:
        return getattr(cortex_ref, arch)(num_classes=num_classes)
    if arch == "resnext3d_101":
        return cortex_ref.resnext3d_101(num_classes=num_classes)
    raise KeyError(arch)


# ------------------------------------------------------------------ narrow variants


class NarrowResNet(tvr.ResNet):
    """torchvision ResNet with parameterised widths. Mirrors ResNet.__init__ line by
    line (stem 64 -> `stem`, stage planes 64/128/256/512 -> `planes`); the blocks,
    _make_layer and forward are torchvision's own."""

    def __init__(self, block, layers, planes, stem, num_classes, groups=1, width_per_group=64):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = stem
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)


class _NarrowBasicStem(nn.Sequential):
    """torchvision BasicStem with width w (64 there)."""

    def __init__(self, w):
        super().__init__(
            nn.Conv3d(3, w, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(w),
            nn.ReLU(inplace=True),
        )


class _NarrowR2Plus1dStem(nn.Sequential):
    """torchvision R2Plus1dStem with widths mid, w (45, 64 there)."""

    def __init__(self, mid, w):
        super().__init__(
            nn.Conv3d(3, mid, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, w, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(w),
            nn.ReLU(inplace=True),
        )


class NarrowVideoResNet(tvv.VideoResNet):
    """torchvision VideoResNet with parameterised widths (stem 64 [45] and stage planes);
    blocks (incl. their midplanes formula), _make_layer and forward are torchvision's."""

    def __init__(self, conv_makers, layers, stem, planes, num_classes, block=tvv.BasicBlock):
        nn.Module.__init__(self)
        self.inplanes = stem[-1]
        self.stem = _NarrowBasicStem(*stem) if len(stem) == 1 else _NarrowR2Plus1dStem(*stem)
        self.layer1 = self._make_layer(block, conv_makers[0], planes[0], layers[0], stride=1)
        self.layer2 = self._make_layer(block, conv_makers[1], planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, conv_makers[2], planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, conv_makers[3], planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)


class NarrowOctResNet(cortex_ref.OctResNet):
    """cortex_ref.OctResNet with parameterised widths; same construction, same forward."""

    def __init__(self, layers, alpha, planes, stem, num_classes):
        nn.Module.__init__(self)
        R = cortex_ref
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem
        stages = []
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for b in range(n):
                stride = 2 if (i > 0 and b == 0) else 1
                if i == 0 and b == 0:
                    a_in, a_out = 0.0, alpha
                elif i == 3:
                    a_in, a_out = (alpha if b == 0 else 0.0), 0.0
                else:
                    a_in, a_out = alpha, alpha
                blocks.append(R.OctBottleneck(cin, p, stride, a_in, a_out, downsample=(b == 0)))
                cin = p * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(planes[3] * 4, num_classes)


class NarrowCSN(cortex_ref.CSN):
    """cortex_ref.CSN with parameterised widths; same blocks (eps 1e-3), same forward."""

    def __init__(self, layers, mode, planes, stem, num_classes):
        nn.Module.__init__(self)
        R = cortex_ref
        self.conv1 = nn.Conv3d(3, stem, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(stem, eps=R._BN_EPS)
        self.maxpool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        cin = stem
        stages = []
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for b in range(n):
                blocks.append(R.CSNBottleneck(cin, p, 2 if (i > 0 and b == 0) else 1, mode))
                cin = p * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(planes[3] * 4, num_classes)


class NarrowResNeXt3D(cortex_ref.ResNeXt3D):
    """cortex_ref.ResNeXt3D with parameterised widths (groups stay 32)."""

    def __init__(self, layers, groups, width, planes, stem, num_classes):
        nn.Module.__init__(self)
        R = cortex_ref
        self.conv1 = nn.Conv3d(3, stem, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(stem)
        self.maxpool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        cin = stem
        stages = []
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for b in range(n):
                blocks.append(R.ResNeXt3DBottleneck(cin, p, 2 if (i > 0 and b == 0) else 1, groups, width))
                cin = p * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(planes[3] * 4, num_classes)


def build_narrow(arch, planes, stem, num_classes, alpha=0.25, width_per_group=None, stem_mid=None):
    """A narrowed `arch`: stage planes `planes` (4-tuple; the real ones are 64/128/256/512),
    stem width `stem` (64). width_per_group overrides the arch's (ResNeXt/wide: the mid
    width is int(planes * wpg / 64) * groups, so it must be >= 1 group's worth);
    stem_mid is the R(2+1)D stem's first width (45)."""
    if arch in RESNET_2D:
        block, layers, g, w = RESNET_2D[arch]
        return NarrowResNet(block, layers, planes, stem, num_classes, g, width_per_group or w)
    if arch == "octresnet50":
        return NarrowOctResNet((3, 4, 6, 3), alpha, planes, stem, num_classes)
    if arch in VIDEO_TV:
        makers, layers, kind = VIDEO_TV[arch]
        st = (stem,) if kind == "basic" else (stem_mid or max(1, round(stem * 45 / 64)), stem)
        return NarrowVideoResNet(makers, layers, st, planes, num_classes)
    if arch in CSN_ARCHS:
        mode, layers = CSN_ARCHS[arch]
        return NarrowCSN(layers, mode, planes, stem, num_classes)
    if arch == "resnext3d_101":
        return NarrowResNeXt3D((3, 4, 23, 3), 32, width_per_group or 4, planes, stem, num_classes)
    raise KeyError(arch)


_KEYS_CACHE = {}


def full_keys(arch, alpha=0.25):
    k = (arch, alpha)
    if k not in _KEYS_CACHE:
        _KEYS_CACHE[k] = list(build_full(arch, 10, alpha).state_dict().keys())
    return _KEYS_CACHE[k]


def check_keys(model, arch, alpha=0.25):
    """Assert that `model` has exactly the full-size arch's state_dict keys (same order)."""
    got = list(model.state_dict().keys())
    want = full_keys(arch, alpha)
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        raise AssertionError(f"{arch}: key mismatch; missing {missing[:8]} extra {extra[:8]}"
                             + ("" if missing or extra else " (order differs)"))


# ------------------------------------------------------------------ weights


def seed_for(name):
    """A stable per-case seed, so adding a case never changes the others."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


_CONV = (nn.Conv2d, nn.Conv3d)
_BN = (nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def randomize(model, x, seed):
    """Random weights with non-trivial BN statistics, scaled so that activations stay
    O(1) through any depth:
      conv   kaiming normal (fan_in), then rescaled by one data-driven pass (LSUV):
             every conv's output on `x` gets std 1 (weights divided by that std);
      BN     running_mean ~ U(-0.5,0.5), running_var ~ U(0.5,2), weight ~ U(0.5,1.5),
             bias ~ U(-0.3,0.3); num_batches_tracked random too (it must be ignored);
      fc     weight ~ N(0, 1/fan_in), bias ~ U(-0.1,0.1).
    Leaves the model in eval mode."""
    g = torch.Generator().manual_seed(seed)

    def uni(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64).to(t.dtype) * (hi - lo) + lo)

    for m in model.modules():
        if isinstance(m, _CONV):
            fan_in = m.weight[0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            if m.bias is not None:
                uni(m.bias, -0.1, 0.1)
        elif isinstance(m, _BN):
            uni(m.running_mean, -0.5, 0.5)
            uni(m.running_var, 0.5, 2.0)
            uni(m.weight, 0.5, 1.5)
            uni(m.bias, -0.3, 0.3)
            m.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=g)))
        elif isinstance(m, nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
            uni(m.bias, -0.1, 0.1)
    model.eval()

    # LSUV pass: forward hooks run in execution order, so each conv is normalised on
    # the already-normalised activations of the layers before it.
    def hook(mod, inp, out):
        s = float(out.double().std())
        if s > 0 and np.isfinite(s):
            mod.weight.div_(s)
            if mod.bias is not None:
                mod.bias.div_(s)
            return out / s
        return out

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _CONV)]
    try:
        model(x)
    finally:
        for h in hs:
            h.remove()
    return model


@torch.no_grad()
def reference(model, x):
    """Logits computed in float64 from the float32 weights and input (a float64 copy)."""
    m64 = copy.deepcopy(model).double().eval()
    return m64(x.double())


def n_params(model):
    """Learnable parameters (BN running statistics not counted)."""
    return sum(p.numel() for p in model.parameters())


def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a))
