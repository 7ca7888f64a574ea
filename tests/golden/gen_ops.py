#!/usr/bin/env python3
"""Golden fixtures for the engine's CPU ops (tests/engine/golden_ops_test.cpp).

Writes tests/golden/fixtures/ops_*.safetensors: seeded random inputs and the
reference outputs PyTorch computes for them, several shapes per op (odd sizes,
sizes that are not multiples of 8, broadcasting, strides, groups, masks).

References are computed in float64 from the float32 inputs and stored as
float32, so the C++ side is checked against the exact result, not against
PyTorch's own float32 rounding. Each file's metadata records the versions of
torch, safetensors and numpy used and lists its cases:

    "cases": [{"name": "conv2d_03", "op": "conv2d", "params": {...}}, ...]

with tensors named "<case>/<role>" ("conv2d_03/x", "conv2d_03/out", ...).

Run (needs torch, safetensors, numpy; CI never runs it, it only reads the
committed fixtures):
    python3 tests/golden/gen_ops.py [--out tests/golden/fixtures]
"""

import argparse
import json
import math
import os
import sys

import struct

import numpy
import safetensors
import torch
import torch.nn.functional as F
from safetensors import safe_open

SEED = 20240604
MAX_FILE_BYTES = 2 * 1000 * 1000


class Fixture:
    """One safetensors file: a list of cases and their tensors."""

    def __init__(self, name):
        self.name = name
        self.cases = []
        self.tensors = {}
        self.counter = {}

    def case(self, op, params, **tensors):
        n = self.counter.get(op, 0)
        self.counter[op] = n + 1
        name = f"{op}_{n:02d}"
        for role, t in tensors.items():
            if t is None:
                continue
            self.tensors[f"{name}/{role}"] = t.detach().contiguous().clone()
        self.cases.append({"name": name, "op": op, "params": params})

    def write(self, out_dir):
        meta = {
            "generator": "tests/golden/gen_ops.py",
            "seed": str(SEED),
            "torch_version": torch.__version__,
            "safetensors_version": safetensors.__version__,
            "numpy_version": numpy.__version__,
            "reference_precision": "float64, stored as float32",
            "cases": json.dumps(self.cases, sort_keys=True),
        }
        path = os.path.join(out_dir, f"ops_{self.name}.safetensors")
        write_safetensors(path, self.tensors, meta)
        size = os.path.getsize(path)
        print(f"{path}: {len(self.cases)} cases, {size} bytes")
        if size > MAX_FILE_BYTES:
            sys.exit(f"{path} is {size} bytes; fixtures must stay under {MAX_FILE_BYTES}")


DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32",
               torch.int64: "I64", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata):
    """The safetensors layout, written with sorted keys so that running the
    generator twice gives identical bytes (safetensors' own writer orders the
    metadata differently each run). Read back with the reference reader to
    prove the file is standard."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name]
        raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the reference writer pads to 8 bytes too
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == metadata
        assert sorted(f.keys()) == sorted(tensors)
        for name in f.keys():
            assert torch.equal(f.get_tensor(name), tensors[name]), name


gen = torch.Generator().manual_seed(SEED)


def randn(*shape, scale=1.0, offset=0.0):
    return torch.randn(shape, generator=gen, dtype=torch.float32) * scale + offset


def rand(*shape, lo=0.0, hi=1.0):
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


def ref(t):
    """float64 result to the stored float32."""
    return t.to(torch.float32)


def d(t):
    return None if t is None else t.to(torch.float64)


# ---------------------------------------------------------------- matmul ----
def gen_matmul():
    fx = Fixture("matmul")
    for x_shape, out_f, bias in [((3, 17), 5, True), ((2, 7, 33), 64, False), ((1, 1, 100), 257, True),
                                 ((64, 128), 96, True), ((5, 1), 3, True)]:
        x = randn(*x_shape)
        w = randn(out_f, x_shape[-1], scale=1.0 / math.sqrt(x_shape[-1]))
        b = randn(out_f) if bias else None
        fx.case("linear", {}, x=x, weight=w, bias=b, out=ref(F.linear(d(x), d(w), d(b))))
    for a_shape, b_shape in [((5, 7), (7, 3)), ((2, 3, 17, 9), (9, 13)), ((4, 1, 6, 5), (3, 5, 7)),
                             ((8, 31, 64), (8, 64, 45)), ((2, 65, 33), (2, 33, 129)), ((1, 9), (9, 1)),
                             ((3, 40, 24), (24, 200))]:
        a, b = randn(*a_shape), randn(*b_shape)
        fx.case("matmul", {}, a=a, b=b, out=ref(torch.matmul(d(a), d(b))))
    return fx


# ------------------------------------------------------------------ conv ----
def gen_conv():
    fx = Fixture("conv")
    cases = [
        # x shape, (out, kh, kw), stride, padding, dilation, groups, bias
        ((1, 3, 17, 19), (8, 3, 3), (1, 1), (1, 1), (1, 1), 1, True),
        ((2, 4, 16, 16), (6, 1, 1), (1, 1), (0, 0), (1, 1), 1, True),
        ((1, 6, 15, 13), (9, 3, 3), (2, 2), (1, 1), (1, 1), 3, True),
        ((1, 5, 20, 21), (7, 3, 3), (1, 1), (2, 2), (2, 2), 1, False),
        ((2, 8, 9, 9), (8, 3, 3), (1, 1), (1, 1), (1, 1), 8, False),
        ((1, 3, 32, 32), (16, 4, 4), (4, 4), (0, 0), (1, 1), 1, True),
        ((1, 4, 11, 10), (5, 5, 3), (1, 2), (2, 1), (1, 1), 1, True),
        ((1, 64, 20, 20), (64, 3, 3), (1, 1), (1, 1), (1, 1), 1, True),
        ((1, 3, 7, 7), (2, 7, 7), (1, 1), (0, 0), (1, 1), 1, True),
        ((1, 12, 10, 14), (12, 3, 3), (2, 1), (1, 0), (1, 2), 4, True),
        ((1, 8, 9, 9), (4, 1, 1), (2, 2), (0, 0), (1, 1), 1, True),
    ]
    for x_shape, (o, kh, kw), stride, padding, dilation, groups, bias in cases:
        c = x_shape[1]
        x = randn(*x_shape)
        w = randn(o, c // groups, kh, kw, scale=1.0 / math.sqrt(c // groups * kh * kw))
        b = randn(o) if bias else None
        out = F.conv2d(d(x), d(w), d(b), stride=stride, padding=padding, dilation=dilation, groups=groups)
        params = {"stride": list(stride), "padding": list(padding), "dilation": list(dilation), "groups": groups}
        fx.case("conv2d", params, x=x, weight=w, bias=b, out=ref(out))
    return fx


# ------------------------------------------------------------------ norm ----
def gen_norm():
    fx = Fixture("norm")
    for shape, groups, affine, eps, offset in [((2, 32, 9, 7), 8, True, 1e-5, 0.0), ((1, 6, 5), 3, True, 1e-5, 0.0),
                                               ((2, 64, 16, 16), 32, True, 1e-6, 0.0),
                                               ((1, 4, 3, 3, 2), 2, False, 1e-5, 0.0),
                                               ((1, 12, 13, 11), 4, True, 1e-5, 10.0)]:
        x = randn(*shape, offset=offset)
        w = randn(shape[1], scale=0.5, offset=1.0) if affine else None
        b = randn(shape[1], scale=0.5) if affine else None
        out = F.group_norm(d(x), groups, d(w), d(b), eps)
        fx.case("group_norm", {"groups": groups, "eps": eps}, x=x, weight=w, bias=b, out=ref(out))
    for shape, affine, eps, offset in [((3, 17), True, 1e-5, 0.0), ((2, 5, 768), True, 1e-6, 0.0),
                                       ((4, 33), False, 1e-5, 0.0), ((1, 7, 64), True, 1e-5, 5.0)]:
        x = randn(*shape, offset=offset)
        w = randn(shape[-1], scale=0.5, offset=1.0) if affine else None
        b = randn(shape[-1], scale=0.5) if affine else None
        out = F.layer_norm(d(x), (shape[-1],), d(w), d(b), eps)
        fx.case("layer_norm", {"eps": eps}, x=x, weight=w, bias=b, out=ref(out))
    for shape, weighted, eps in [((3, 17), True, 1e-6), ((2, 9, 896), True, 1e-6), ((5, 63), False, 1e-5)]:
        x = randn(*shape)
        w = randn(shape[-1], scale=0.5, offset=1.0) if weighted else None
        xd = d(x)
        out = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + eps)
        if weighted:
            out = out * d(w)
        fx.case("rms_norm", {"eps": eps}, x=x, weight=w, out=ref(out))
    for shape, dim, scale in [((3, 17), -1, 1.0), ((2, 5, 1000), -1, 10.0), ((4, 7, 9), 1, 1.0),
                              ((2, 3, 4, 5), 0, 3.0), ((1, 4099), -1, 1.0)]:
        x = randn(*shape, scale=scale)
        fx.case("softmax", {"dim": dim}, x=x, out=ref(torch.softmax(d(x), dim)))
    return fx


# ------------------------------------------------------------- attention ----
def reference_attention(q, k, v, causal, mask, scale):
    """float64 attention with the engine's semantics: GQA by repeat_interleave,
    causal aligned to the bottom-right corner, fully masked rows give zeros."""
    q, k, v = d(q), d(k), d(v)
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads:
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    if mask is not None:
        s = s + d(mask)
    sq, sk = q.shape[2], k.shape[2]
    if causal:
        i = torch.arange(sq).unsqueeze(1)
        j = torch.arange(sk).unsqueeze(0)
        s = s.masked_fill(j > i + (sk - sq), float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)
    return torch.matmul(p, v)


def gen_attention():
    fx = Fixture("attention")
    cases = [
        # B, H, Hk, Sq, Sk, D, Dv, causal, mask kind, scale
        (1, 2, 2, 17, 17, 8, 8, False, None, None),
        (2, 3, 3, 65, 65, 32, 32, True, None, None),
        (1, 2, 2, 7, 600, 64, 64, False, None, None),
        (1, 2, 2, 130, 700, 16, 16, True, None, None),
        (2, 2, 2, 33, 47, 16, 16, False, "padding", None),
        (1, 3, 3, 19, 23, 8, 8, False, "full2d", None),
        (1, 8, 2, 40, 40, 16, 16, True, None, None),
        (2, 2, 1, 9, 31, 16, 24, False, "per_head", 0.3),
        (1, 1, 1, 1030, 1030, 16, 16, True, None, None),
        (1, 4, 4, 1, 77, 64, 64, False, None, None),
    ]
    for b, h, hk, sq, sk, dim, dv, causal, mask_kind, scale in cases:
        q, k, v = randn(b, h, sq, dim), randn(b, hk, sk, dim), randn(b, hk, sk, dv)
        mask = None
        if mask_kind == "padding":
            # Key padding: each batch row hides its last few keys.
            mask = torch.zeros(b, 1, 1, sk)
            for bi in range(b):
                mask[bi, :, :, sk - 3 - 5 * bi:] = float("-inf")
        elif mask_kind == "full2d":
            mask = randn(sq, sk, scale=2.0)
        elif mask_kind == "per_head":
            mask = randn(b, h, sq, sk)
        s = scale if scale is not None else 1.0 / math.sqrt(dim)
        out = reference_attention(q, k, v, causal, mask, s)
        if h == hk and sq == sk and mask is None:
            # Our reference is PyTorch's SDPA where their semantics meet.
            check = F.scaled_dot_product_attention(d(q), d(k), d(v), is_causal=causal)
            assert torch.allclose(check, out, atol=1e-10), "reference disagrees with SDPA"
        params = {"causal": causal}
        if scale is not None:
            params["scale"] = scale
        fx.case("attention", params, q=q, k=k, v=v, mask=mask, out=ref(out))
    return fx


# ----------------------------------------------------------- elementwise ----
def gen_elementwise():
    fx = Fixture("elementwise")
    unary = {
        "silu": F.silu,
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t),
        "relu": F.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
    }
    for name, fn in unary.items():
        for shape, scale in [((1000,), 4.0), ((3, 7, 13), 1.0), ((2, 2049), 12.0)]:
            x = randn(*shape, scale=scale)
            fx.case(name, {}, x=x, out=ref(fn(d(x))))
    binary = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    shapes = [((3, 17), (3, 17)), ((2, 3, 5, 7), (3, 1, 7)), ((2, 4, 6, 6), (1, 4, 1, 1)), ((5, 1), (1, 6)),
              ((7,), (2, 3, 7)), ((), (4, 5)), ((2, 1, 9), (2, 3, 1))]
    for name, fn in binary.items():
        for a_shape, b_shape in shapes:
            a = randn(*a_shape)
            if name == "div":
                # Keep denominators away from zero so the check measures the op.
                b = torch.sign(randn(*b_shape)) * rand(*b_shape, lo=0.5, hi=2.0)
            else:
                b = randn(*b_shape)
            fx.case(name, {}, a=a, b=b, out=ref(fn(d(a), d(b))))
    for shape, factor in [((4, 9), 0.125), ((1001,), -3.0)]:
        x = randn(*shape)
        fx.case("scale", {"factor": factor}, x=x, out=ref(d(x) * factor))
    return fx


# ---------------------------------------------------------------- layout ----
def gen_layout():
    fx = Fixture("layout")
    for shapes, dim in [([(2, 3, 5), (2, 4, 5), (2, 1, 5)], 1), ([(1, 7), (3, 7)], 0), ([(2, 3, 2), (2, 3, 9)], -1)]:
        ts = [randn(*s) for s in shapes]
        tensors = {f"in{i}": t for i, t in enumerate(ts)}
        fx.case("concat", {"dim": dim, "count": len(ts)}, out=torch.cat(ts, dim), **tensors)
    ints = [torch.randint(-1000, 1000, s, generator=gen, dtype=torch.int64) for s in [(2, 3), (2, 5)]]
    fx.case("concat", {"dim": 1, "count": 2}, in0=ints[0], in1=ints[1], out=torch.cat(ints, 1))

    for shape, dim, start, end, step in [((4, 10, 6), 1, 2, 9, 1), ((4, 10, 6), 2, 1, 6, 2), ((5, 3), 0, -3, 4, 1),
                                         ((2, 3, 17), -1, 0, 17, 3)]:
        x = randn(*shape)
        idx = [slice(None)] * len(shape)
        idx[dim] = slice(start, end, step)
        fx.case("slice", {"dim": dim, "start": start, "end": end, "step": step}, x=x, out=x[tuple(idx)])

    for shape, perm in [((2, 3, 4, 5), [0, 2, 1, 3]), ((3, 5, 7), [2, 0, 1]), ((2, 3, 4, 5, 6), [4, 3, 2, 1, 0]),
                        ((6, 9), [1, 0]), ((1, 17, 8), [0, 2, 1])]:
        x = randn(*shape)
        fx.case("permute", {"dims": perm}, x=x, out=x.permute(*perm))
    xi = torch.randint(0, 100, (3, 4, 5), generator=gen, dtype=torch.int64)
    fx.case("permute", {"dims": [2, 1, 0]}, x=xi, out=xi.permute(2, 1, 0))
    x = randn(5, 7, 3)
    fx.case("transpose", {"dim0": 0, "dim1": 2}, x=x, out=x.transpose(0, 2))
    x = randn(2, 3, 4)
    fx.case("reshape", {"dims": [6, -1]}, x=x, out=x.reshape(6, -1))

    for shape, pads, mode, value in [((1, 2, 5, 6), [1, 2, 0, 3], "constant", 0.5), ((1, 3, 6, 7), [2, 2, 1, 1], "reflect", 0),
                                     ((2, 2, 5, 4), [3, 0, 2, 1], "replicate", 0), ((2, 3, 8), [-1, 2], "constant", 0),
                                     ((1, 1, 4, 4), [0, 1, 0, 1], "constant", 0)]:
        x = randn(*shape)
        out = F.pad(x, pads, mode=mode, value=value) if mode == "constant" else F.pad(x, pads, mode=mode)
        fx.case("pad", {"pads": pads, "mode": mode, "value": value}, x=x, out=out)

    for shape in [(1, 3, 5, 7), (2, 4, 8, 8)]:
        x = randn(*shape)
        fx.case("upsample_nearest2x", {}, x=x, out=F.interpolate(x, scale_factor=2, mode="nearest"))
    for shape, k, s, p in [((1, 3, 8, 8), 2, 2, 0), ((2, 4, 9, 11), 3, 2, 1), ((1, 2, 7, 7), 3, 1, 1),
                           ((1, 2, 10, 7), (2, 3), (2, 1), (1, 0))]:
        kk = list(k) if isinstance(k, tuple) else [k, k]
        ss = list(s) if isinstance(s, tuple) else [s, s]
        pp = list(p) if isinstance(p, tuple) else [p, p]
        x = randn(*shape)
        params = {"kernel": kk, "stride": ss, "padding": pp}
        fx.case("avg_pool2d", params, x=x, out=ref(F.avg_pool2d(d(x), kk, ss, pp)))
        fx.case("max_pool2d", params, x=x, out=F.max_pool2d(x, kk, ss, pp))

    for vocab, dim, ids_shape, dtype in [(50, 17, (3, 5), torch.int64), (1000, 64, (9,), torch.int32)]:
        w = randn(vocab, dim)
        ids = torch.randint(0, vocab, ids_shape, generator=gen, dtype=dtype)
        fx.case("embedding", {}, ids=ids, weight=w, out=F.embedding(ids.to(torch.int64), w))
    return fx


# -------------------------------------------------------------- sequence ----
def reference_rope(x, positions, theta, style, rotary_dim):
    """transformers' recipe: inv_freq and angles in float32 (the tables models
    are trained and run with), the rotation itself in float64."""
    dim = x.shape[-1]
    rot = rotary_dim or dim
    inv_freq = 1.0 / (theta ** (torch.arange(0, rot, 2, dtype=torch.int64).float() / rot))
    angles = positions.float()[:, None] * inv_freq[None, :]
    cos, sin = d(angles.cos()), d(angles.sin())
    xd = d(x)
    out = xd.clone()
    if style == "half":
        x1, x2 = xd[..., : rot // 2], xd[..., rot // 2: rot]
        out[..., : rot // 2] = x1 * cos - x2 * sin
        out[..., rot // 2: rot] = x2 * cos + x1 * sin
    else:
        x1, x2 = xd[..., 0:rot:2], xd[..., 1:rot:2]
        out[..., 0:rot:2] = x1 * cos - x2 * sin
        out[..., 1:rot:2] = x2 * cos + x1 * sin
    return ref(out)


def gen_sequence():
    fx = Fixture("sequence")
    for shape, positions, theta, style, rot in [((1, 2, 7, 64), None, 10000.0, "half", 0),
                                                 ((2, 3, 5, 32), [3, 10, 11, 50, 99], 10000.0, "interleaved", 0),
                                                 ((1, 1, 9, 64), None, 1000000.0, "half", 32),
                                                 ((1, 4, 6, 80), 20, 10000.0, "half", 0)]:
        x = randn(*shape)
        s = shape[-2]
        params = {"theta": theta, "style": style, "rotary_dim": rot}
        if isinstance(positions, list):
            pos = torch.tensor(positions, dtype=torch.int64)
            tensors = {"positions": pos}
        else:
            start = positions or 0
            pos = torch.arange(start, start + s, dtype=torch.int64)
            params["start_pos"] = start
            tensors = {}
        fx.case("rope", params, x=x, out=reference_rope(x, pos, theta, style, rot), **tensors)

    for shape, dim in [((3, 17), 1), ((4, 5, 6), 0), ((1000,), 0), ((2, 7, 3), -1)]:
        x = randn(*shape)
        fx.case("cumsum", {"dim": dim}, x=x, out=ref(torch.cumsum(d(x), dim)))
    xi = torch.randint(-50, 50, (5, 7), generator=gen, dtype=torch.int64)
    fx.case("cumsum", {"dim": 1}, x=xi, out=torch.cumsum(xi, 1))

    for shape, dim, keepdim, ties in [((3, 17), -1, False, False), ((4, 5, 6), 1, True, False),
                                      ((6, 40), 1, False, True), ((2049,), 0, False, False)]:
        x = torch.randint(0, 3, shape, generator=gen).float() if ties else randn(*shape)
        fx.case("argmax", {"dim": dim, "keepdim": keepdim}, x=x, out=torch.argmax(x, dim, keepdim=keepdim))

    for shape, k, dim, largest in [((3, 17), 5, -1, True), ((4, 100), 10, -1, False), ((2, 9, 5), 3, 1, True),
                                   ((1, 32000), 40, -1, True)]:
        x = randn(*shape)
        values, indices = torch.topk(x, k, dim, largest=largest, sorted=True)
        fx.case("topk", {"k": k, "dim": dim, "largest": largest}, x=x, values=values, indices=indices)
    return fx


# ---------------------------------------------------------------- dtypes ----
def gen_dtypes():
    """f16/bf16 <-> f32: the checkpoint load path and to_dtype. Exact."""
    fx = Fixture("dtypes")
    wide = torch.cat([randn(4000, scale=3.0), randn(500, scale=1e-6), randn(500, scale=3e4),
                      torch.tensor([0.0, -0.0, 65504.0, 65520.0, 1e9, -1e9, 5.96e-8, 2.98e-8, 3e-8, 1e-40,
                                    float("inf"), float("-inf")])])
    for name, dtype in [("f16", torch.float16), ("bf16", torch.bfloat16)]:
        narrow = wide.to(dtype)
        # Stored narrow: loading must widen it exactly; narrowing the f32
        # input must round exactly as PyTorch does.
        fx.case(f"to_{name}", {}, x=wide, narrow=narrow, widened=narrow.float())
    return fx


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, safetensors {safetensors.__version__}, numpy {numpy.__version__}")
    for make in [gen_matmul, gen_conv, gen_norm, gen_attention, gen_elementwise, gen_layout, gen_sequence,
                 gen_dtypes]:
        make().write(args.out)


if __name__ == "__main__":
    main()
