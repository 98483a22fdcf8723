"""The YOLOv5 architecture (v6.0+ layers) with random weights, as ONNX and as torch.

Written for benchmarks from the published architecture description (the
yolov5s / yolov5x6 layer tables: Conv, C3, SPPF, nearest upsampling, Concat,
Detect), never from the Ultralytics code.  One set of numpy weights (conv and
batch-norm already folded, as YOLOv5 fuses them at load time) feeds both the
ONNX graph built with `onnx.helper` and the torch module, so both compute the
same function and can be compared.

MegaDetector v5a is YOLOv5x6 (depth 1.33, width 1.25, P3-P6 outputs) with 3
classes; MDv1000-spruce is the small YOLOv5s at 640.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Layer tables: (from, repeats, module, args).  Head C3 blocks have no shortcut.
_P6_BACKBONE = [
    (-1, 1, "Conv", [64, 6, 2, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 3, "C3", [128]),
    (-1, 1, "Conv", [256, 3, 2]), (-1, 6, "C3", [256]), (-1, 1, "Conv", [512, 3, 2]),
    (-1, 9, "C3", [512]), (-1, 1, "Conv", [768, 3, 2]), (-1, 3, "C3", [768]),
    (-1, 1, "Conv", [1024, 3, 2]), (-1, 3, "C3", [1024]), (-1, 1, "SPPF", [1024, 5]),
]
_P6_HEAD = [
    (-1, 1, "Conv", [768, 1, 1]), (-1, 1, "Upsample", []), ([-1, 8], 1, "Concat", []),
    (-1, 3, "C3", [768, False]),
    (-1, 1, "Conv", [512, 1, 1]), (-1, 1, "Upsample", []), ([-1, 6], 1, "Concat", []),
    (-1, 3, "C3", [512, False]),
    (-1, 1, "Conv", [256, 1, 1]), (-1, 1, "Upsample", []), ([-1, 4], 1, "Concat", []),
    (-1, 3, "C3", [256, False]),
    (-1, 1, "Conv", [256, 3, 2]), ([-1, 20], 1, "Concat", []), (-1, 3, "C3", [512, False]),
    (-1, 1, "Conv", [512, 3, 2]), ([-1, 16], 1, "Concat", []), (-1, 3, "C3", [768, False]),
    (-1, 1, "Conv", [768, 3, 2]), ([-1, 12], 1, "Concat", []), (-1, 3, "C3", [1024, False]),
    ([23, 26, 29, 32], 1, "Detect", []),
]
_P6_ANCHORS = [[19, 27, 44, 40, 38, 94], [96, 68, 86, 152, 180, 137],
               [140, 301, 303, 264, 238, 542], [436, 615, 739, 380, 925, 792]]
_P5_BACKBONE = [
    (-1, 1, "Conv", [64, 6, 2, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 3, "C3", [128]),
    (-1, 1, "Conv", [256, 3, 2]), (-1, 6, "C3", [256]), (-1, 1, "Conv", [512, 3, 2]),
    (-1, 9, "C3", [512]), (-1, 1, "Conv", [1024, 3, 2]), (-1, 3, "C3", [1024]),
    (-1, 1, "SPPF", [1024, 5]),
]
_P5_HEAD = [
    (-1, 1, "Conv", [512, 1, 1]), (-1, 1, "Upsample", []), ([-1, 6], 1, "Concat", []),
    (-1, 3, "C3", [512, False]),
    (-1, 1, "Conv", [256, 1, 1]), (-1, 1, "Upsample", []), ([-1, 4], 1, "Concat", []),
    (-1, 3, "C3", [256, False]),
    (-1, 1, "Conv", [256, 3, 2]), ([-1, 14], 1, "Concat", []), (-1, 3, "C3", [512, False]),
    (-1, 1, "Conv", [512, 3, 2]), ([-1, 10], 1, "Concat", []), (-1, 3, "C3", [1024, False]),
    ([17, 20, 23], 1, "Detect", []),
]
_P5_ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]


@dataclass(frozen=True)
class Variant:
    name: str
    depth: float
    width: float
    layers: list
    anchors: list
    strides: tuple
    image_size: int


VARIANTS = {
    "yolov5x6": Variant("yolov5x6", 1.33, 1.25, _P6_BACKBONE + _P6_HEAD, _P6_ANCHORS, (8, 16, 32, 64), 1280),
    "yolov5s": Variant("yolov5s", 0.33, 0.50, _P5_BACKBONE + _P5_HEAD, _P5_ANCHORS, (8, 16, 32), 640),
}


def _make_divisible(x: float, divisor: int = 8) -> int:
    return int(math.ceil(x / divisor) * divisor)


# ---------------------------------------------------------------------------------------
# Expansion of the layer table into primitive ops (conv / pool / upsample / concat / add)
# ---------------------------------------------------------------------------------------

@dataclass
class ConvSpec:
    name: str
    c1: int
    c2: int
    k: int
    s: int
    p: int
    act: bool = True


class Net:
    """Primitive program: a list of ops over named tensors, plus conv weights."""

    def __init__(self):
        self.ops: list[tuple] = []  # (kind, out, inputs, spec)
        self.convs: dict[str, ConvSpec] = {}
        self.channels: dict[str, int] = {}
        self._n = 0

    def _name(self, prefix):
        self._n += 1
        return f"{prefix}{self._n}"

    def conv(self, x, c2, k, s=1, p=None, act=True):
        p = k // 2 if p is None else p
        spec = ConvSpec(self._name("conv"), self.channels[x], c2, k, s, p, act)
        self.convs[spec.name] = spec
        out = spec.name + "_out"
        self.ops.append(("conv", out, [x], spec))
        self.channels[out] = c2
        return out

    def op(self, kind, inputs, channels, **attrs):
        out = self._name(kind)
        self.ops.append((kind, out, list(inputs), attrs))
        self.channels[out] = channels
        return out


def _c3(net: Net, x, c2, n, shortcut=True):
    c_ = int(c2 * 0.5)
    a = net.conv(x, c_, 1)
    for _ in range(n):  # Bottleneck(c_, c_, shortcut, e=1.0)
        b = net.conv(net.conv(a, c_, 1), c_, 3)
        a = net.op("add", [a, b], c_) if shortcut else b
    b = net.conv(x, c_, 1)
    return net.conv(net.op("concat", [a, b], 2 * c_), c2, 1)


def _sppf(net: Net, x, c2, k):
    c_ = net.channels[x] // 2
    a = net.conv(x, c_, 1)
    y1 = net.op("maxpool", [a], c_, k=k)
    y2 = net.op("maxpool", [y1], c_, k=k)
    y3 = net.op("maxpool", [y2], c_, k=k)
    return net.conv(net.op("concat", [a, y1, y2, y3], 4 * c_), c2, 1)


def expand(variant: Variant, num_classes: int) -> tuple[Net, list[str]]:
    """Expand a variant's layer table; returns the net and its Detect head convs (one per level)."""
    net = Net()
    net.channels["images"] = 3
    outs: list[str] = []
    heads: list[str] = []
    na = len(variant.anchors[0]) // 2
    for frm, n, module, args in variant.layers:
        src = [outs[f] if f != -1 else (outs[-1] if outs else "images")
               for f in (frm if isinstance(frm, list) else [frm])]
        x = src[0]
        n = max(round(n * variant.depth), 1) if n > 1 else n
        if module == "Conv":
            c2, k, s = _make_divisible(args[0] * variant.width), args[1], args[2]
            y = net.conv(x, c2, k, s, args[3] if len(args) > 3 else None)
        elif module == "C3":
            y = _c3(net, x, _make_divisible(args[0] * variant.width), n,
                    args[1] if len(args) > 1 else True)
        elif module == "SPPF":
            y = _sppf(net, x, _make_divisible(args[0] * variant.width), args[1])
        elif module == "Upsample":
            y = net.op("upsample", [x], net.channels[x])
        elif module == "Concat":
            y = net.op("concat", src, sum(net.channels[s] for s in src))
        elif module == "Detect":
            heads = [net.conv(s, na * (5 + num_classes), 1, act=False) for s in src]
            y = heads[-1]
        else:  # pragma: no cover - the tables above only use these
            raise ValueError(module)
        outs.append(y)
    return net, heads


def random_weights(net: Net, num_classes: int, heads: list[str], seed: int = 0) -> dict:
    """Random fused weights; scaled so activations stay in range through ~300 convs.

    The Detect biases follow YOLOv5's initialisation (objectness prior for
    about 8 objects per 640 image, class prior 0.6/(nc-0.99)) so the number of
    boxes above MegaDetector's 0.005 threshold is realistic, not every anchor.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    head_specs = {h.rsplit("_out", 1)[0] for h in heads}
    for name, spec in net.convs.items():
        fan_in = spec.c1 * spec.k * spec.k
        w = rng.standard_normal((spec.c2, spec.c1, spec.k, spec.k), dtype=np.float32)
        w *= np.float32(1.0 / math.sqrt(fan_in))
        b = rng.standard_normal(spec.c2, dtype=np.float32) * np.float32(0.1)
        if name in head_specs:
            w *= np.float32(0.5)
            b = b.reshape(-1, 5 + num_classes)
            b[:, 4] += math.log(8 / (640 / 32) ** 2)
            b[:, 5:] += math.log(0.6 / (num_classes - 0.99))
            b = b.reshape(-1)
        weights[name] = (w, b.astype(np.float32))
    return weights


def count_parameters(net: Net, *, fused: bool = True) -> int:
    """Parameters; unfused counts batch-norm gamma and beta as the published figures do."""
    total = 0
    for spec in net.convs.values():
        total += spec.c2 * spec.c1 * spec.k * spec.k
        total += spec.c2 if (fused or not spec.act) else 2 * spec.c2
    return total


# ---------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------

def to_onnx(variant: Variant, net: Net, heads: list[str], weights: dict, num_classes: int,
            path, *, class_names=("animal", "person", "vehicle")) -> None:
    """Write the network as an ONNX graph with dynamic batch/height/width, output [B, N, 5+nc]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    for kind, out, ins, spec in net.ops:
        if kind == "conv":
            w, b = weights[spec.name]
            const(spec.name + "_w", w)
            const(spec.name + "_b", b)
            target = out + "_lin" if spec.act else out
            nodes.append(helper.make_node("Conv", [ins[0], spec.name + "_w", spec.name + "_b"], [target],
                                          kernel_shape=[spec.k, spec.k], strides=[spec.s, spec.s],
                                          pads=[spec.p] * 4))
            if spec.act:  # SiLU
                nodes.append(helper.make_node("Sigmoid", [target], [out + "_sig"]))
                nodes.append(helper.make_node("Mul", [target, out + "_sig"], [out]))
        elif kind == "add":
            nodes.append(helper.make_node("Add", ins, [out]))
        elif kind == "concat":
            nodes.append(helper.make_node("Concat", ins, [out], axis=1))
        elif kind == "maxpool":
            k = spec["k"]
            nodes.append(helper.make_node("MaxPool", ins, [out], kernel_shape=[k, k], strides=[1, 1],
                                          pads=[k // 2] * 4))
        elif kind == "upsample":
            scales = const(out + "_scales", np.array([1, 1, 2, 2], np.float32))
            nodes.append(helper.make_node("Resize", [ins[0], "", scales], [out], mode="nearest"))

    na, no = len(variant.anchors[0]) // 2, 5 + num_classes
    const("c_two", np.array(2.0, np.float32))
    const("c_half", np.array(0.5, np.float32))
    const("i_zero", np.array(0, np.int64))
    const("i_one", np.array(1, np.int64))
    const("i_2", np.array([2], np.int64))
    const("i_3", np.array([3], np.int64))
    const("ax0", np.array([0], np.int64))
    const("ax1", np.array([1], np.int64))
    const("axm1", np.array([-1], np.int64))
    level_outs = []
    for i, (head, stride) in enumerate(zip(heads, variant.strides)):
        p = f"det{i}_"
        const(p + "shape5", np.array([0, na, no, -1], np.int64))
        nodes += [
            helper.make_node("Reshape", [head, p + "shape5"], [p + "r"]),
            helper.make_node("Transpose", [p + "r"], [p + "t"], perm=[0, 1, 3, 2]),  # B,na,HW,no
            helper.make_node("Sigmoid", [p + "t"], [p + "s"]),
            # grid of cell indices for this level's (dynamic) height and width
            helper.make_node("Shape", [head], [p + "fshape"]),
            helper.make_node("Gather", [p + "fshape", "i_2"], [p + "H1"]),
            helper.make_node("Gather", [p + "fshape", "i_3"], [p + "W1"]),
            helper.make_node("Squeeze", [p + "H1"], [p + "H"]),
            helper.make_node("Squeeze", [p + "W1"], [p + "W"]),
            helper.make_node("Range", ["i_zero", p + "W", "i_one"], [p + "xr"]),
            helper.make_node("Range", ["i_zero", p + "H", "i_one"], [p + "yr"]),
            helper.make_node("Cast", [p + "xr"], [p + "xf"], to=TensorProto.FLOAT),
            helper.make_node("Cast", [p + "yr"], [p + "yf"], to=TensorProto.FLOAT),
            helper.make_node("Concat", [p + "H1", p + "W1"], [p + "HW"], axis=0),
            helper.make_node("Unsqueeze", [p + "xf", "ax0"], [p + "xrow"]),
            helper.make_node("Unsqueeze", [p + "yf", "ax1"], [p + "ycol"]),
            helper.make_node("Expand", [p + "xrow", p + "HW"], [p + "gx"]),
            helper.make_node("Expand", [p + "ycol", p + "HW"], [p + "gy"]),
            helper.make_node("Unsqueeze", [p + "gx", "axm1"], [p + "gx1"]),
            helper.make_node("Unsqueeze", [p + "gy", "axm1"], [p + "gy1"]),
            helper.make_node("Concat", [p + "gx1", p + "gy1"], [p + "g"], axis=-1),
        ]
        const(p + "gshape", np.array([1, 1, -1, 2], np.int64))
        anchors = np.array(variant.anchors[i], np.float32).reshape(1, na, 1, 2)
        const(p + "anchors", anchors)
        const(p + "stride", np.array(float(stride), np.float32))
        const(p + "split", np.array([2, 2, no - 4], np.int64))
        const(p + "oshape", np.array([0, -1, no], np.int64))
        nodes += [
            helper.make_node("Reshape", [p + "g", p + "gshape"], [p + "grid"]),
            helper.make_node("Split", [p + "s", p + "split"], [p + "xy", p + "wh", p + "conf"], axis=-1),
            # xy = (2 * sig - 0.5 + grid) * stride ; wh = (2 * sig)^2 * anchor
            helper.make_node("Mul", [p + "xy", "c_two"], [p + "xy2"]),
            helper.make_node("Sub", [p + "xy2", "c_half"], [p + "xy3"]),
            helper.make_node("Add", [p + "xy3", p + "grid"], [p + "xy4"]),
            helper.make_node("Mul", [p + "xy4", p + "stride"], [p + "xyp"]),
            helper.make_node("Mul", [p + "wh", "c_two"], [p + "wh2"]),
            helper.make_node("Mul", [p + "wh2", p + "wh2"], [p + "wh3"]),
            helper.make_node("Mul", [p + "wh3", p + "anchors"], [p + "whp"]),
            helper.make_node("Concat", [p + "xyp", p + "whp", p + "conf"], [p + "dec"], axis=-1),
            helper.make_node("Reshape", [p + "dec", p + "oshape"], [p + "out"]),
        ]
        level_outs.append(p + "out")
    nodes.append(helper.make_node("Concat", level_outs, ["output0"], axis=1))
    graph = helper.make_graph(
        nodes, variant.name,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", "anchors", no])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    names = {i: n for i, n in enumerate(class_names[:num_classes])}
    for k, v in {"stride": str(max(variant.strides)), "names": repr(names)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))


# ---------------------------------------------------------------------------------------
# torch (the reference framework MegaDetector runs in)
# ---------------------------------------------------------------------------------------

def to_torch(variant: Variant, net: Net, heads: list[str], weights: dict, num_classes: int):
    """The same network as a torch.nn.Module (eval mode, fused convs), output [B, N, 5+nc]."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class YOLOv5(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleDict()
            for name, spec in net.convs.items():
                conv = nn.Conv2d(spec.c1, spec.c2, spec.k, spec.s, spec.p, bias=True)
                w, b = weights[name]
                conv.weight.data = torch.from_numpy(w.copy())
                conv.bias.data = torch.from_numpy(b.copy())
                self.convs[name] = conv
            self.na, self.no = len(variant.anchors[0]) // 2, 5 + num_classes
            self.register_buffer("anchors", torch.tensor(variant.anchors, dtype=torch.float32)
                                 .view(len(heads), 1, self.na, 1, 1, 2))
            self._grids: dict = {}

        def _grid(self, ny, nx, device):
            key = (ny, nx)
            if key not in self._grids:
                yv, xv = torch.meshgrid(torch.arange(ny, device=device, dtype=torch.float32),
                                        torch.arange(nx, device=device, dtype=torch.float32), indexing="ij")
                self._grids[key] = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2) - 0.5
            return self._grids[key]

        def forward(self, x):
            t = {"images": x}
            for kind, out, ins, spec in net.ops:
                if kind == "conv":
                    y = self.convs[spec.name](t[ins[0]])
                    t[out] = F.silu(y) if spec.act else y
                elif kind == "add":
                    t[out] = t[ins[0]] + t[ins[1]]
                elif kind == "concat":
                    t[out] = torch.cat([t[i] for i in ins], 1)
                elif kind == "maxpool":
                    t[out] = F.max_pool2d(t[ins[0]], spec["k"], 1, spec["k"] // 2)
                elif kind == "upsample":
                    t[out] = F.interpolate(t[ins[0]], scale_factor=2.0, mode="nearest")
            z = []
            for i, (head, stride) in enumerate(zip(heads, variant.strides)):
                y = t[head]
                bs, _, ny, nx = y.shape
                y = y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).sigmoid()
                xy = (y[..., :2] * 2 + self._grid(ny, nx, y.device)) * stride
                wh = (y[..., 2:4] * 2) ** 2 * self.anchors[i]
                z.append(torch.cat((xy, wh, y[..., 4:]), -1).view(bs, -1, self.no))
            return torch.cat(z, 1)

    return YOLOv5().eval()


def build(variant_name: str, num_classes: int = 3, seed: int = 0):
    """Expand a variant and draw its random weights: (variant, net, heads, weights)."""
    variant = VARIANTS[variant_name]
    net, heads = expand(variant, num_classes)
    return variant, net, heads, random_weights(net, num_classes, heads, seed)


def calibrate_objectness(weights: dict, heads: list[str], level_outputs: list[np.ndarray],
                         num_classes: int, *, logit_std: float = 1.5, pass_fraction: float = 0.01,
                         conf_threshold: float = 0.005) -> None:
    """Rescale the objectness rows of the Detect convs in place so that, on images like the
    ones measured, about `pass_fraction` of anchors exceed `conf_threshold`.

    Random weights otherwise give every anchor nearly the same objectness, so
    either no box or every box would reach NMS; a trained detector sits in
    between.  `level_outputs[i]` is one image's decoded ``[n_i, 5+nc]`` output of level i.
    """
    from statistics import NormalDist
    no = 5 + num_classes
    z = NormalDist().inv_cdf(1 - pass_fraction)
    for head, out in zip(heads, level_outputs):
        w, b = weights[head.rsplit("_out", 1)[0]]
        na = b.size // no
        p = np.clip(out[..., 4].astype(np.float64).reshape(na, -1), 1e-9, 1 - 1e-9)
        b_obj = b.reshape(na, no)[:, 4:5]  # rows of a level are ordered anchor-major
        centred = np.log(p / (1 - p)) - b_obj  # the weights' part of each logit
        cls_p = float(np.median(out[..., 5:].max(-1)))
        q = conf_threshold / cls_p
        target_mean = math.log(q / (1 - q)) - z * logit_std
        w4 = w.reshape(na, no, -1)
        for a in range(na):
            # Random deep features barely vary over the image: stretch that variation
            # to `logit_std` and move the mean so the tail crosses the threshold.
            k = logit_std / max(float(centred[a].std()), 1e-12)
            w4[a, 4] *= np.float32(k)
            b.reshape(na, no)[a, 4] = np.float32(target_mean - k * float(centred[a].mean()))
