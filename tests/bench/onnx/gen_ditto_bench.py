#!/usr/bin/env python3
"""Ditto's 12 networks at full size, random weights, for the ONNX benchmark.

Builds each network with the modules of tests/golden/gen_ditto_onnx.py (the
structure fixtures) at the real channel counts, depths and input shapes
(`FULL`, `full_networks()` there; OPS.md section 2), seeded random weights
(the same `randomise()`), exports it with the same exporter settings and
writes, per network, into OUT (default /tmp/ditto_bench; these graphs are
large and not committed):

    OUT/<network>/<graph>.onnx                 weights inline (hubert: ~1.3 GB)
    OUT/<network>/<graph>.inputs.safetensors   one seeded tensor per graph input, by input name
    OUT/<network>/<graph>.torch.safetensors    PyTorch's outputs for those inputs, by output name
    OUT/manifest.json                          graphs, inputs, outputs, parameters, versions

warp_network is the `_ori` form (standard opset-20 GridSample on 5-D).
Then run tests/bench/onnx/compare_ort.py on OUT.

    /work/venv-ditto/bin/python tests/bench/onnx/gen_ditto_bench.py [OUT] [--networks a,b] [--check]

--check also runs onnxruntime (optimisations off) and prints its relative L2
against PyTorch; --denormals prints, per network, the share of subnormal
floats in the module outputs (random weights can shrink activations into
the range where x86 float math is slow).

Weights are PyTorch's default init plus the fixtures' `randomise()`
(BatchNorm / LayerNorm / PReLU / GRN statistics); only the decoder's last
conv is rescaled (`unsaturate()`) so that its sigmoid output is not mostly 0
and 1, which would hide errors from the comparison.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import onnx
import safetensors
import torch
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "golden"))
import gen_ditto_onnx as g  # noqa: E402


def stored(t):
    return np.ascontiguousarray(t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t))


def subnormal_share(model, args):
    """Share of subnormal float32 values over every leaf module's outputs, and the worst module."""
    tiny = np.finfo(np.float32).tiny
    stats = {"sub": 0, "all": 0, "worst": (0.0, "")}
    hooks = []

    def hook(name):
        def f(_m, _i, out):
            for o in out if isinstance(out, tuple) else (out,):
                if isinstance(o, torch.Tensor) and o.dtype == torch.float32:
                    a = o.detach().abs()
                    sub = int(((a > 0) & (a < tiny)).sum())
                    stats["sub"] += sub
                    stats["all"] += a.numel()
                    if a.numel() and sub / a.numel() > stats["worst"][0]:
                        stats["worst"] = (sub / a.numel(), name)
        return f

    for name, m in model.named_modules():
        if not list(m.children()):
            hooks.append(m.register_forward_hook(hook(name)))
    with torch.no_grad():
        model(*args)
    for h in hooks:
        h.remove()
    return stats["sub"] / max(stats["all"], 1), stats["worst"]


def unsaturate(model, args):
    """The decoder's last conv scaled so its output (the sigmoid's input) has std 1: with
    PyTorch's default init most of the 512x512 image sits at 0 or 1, where the sigmoid
    hides any error before it from the comparison."""
    conv = model.conv_img[0]
    seen = {}

    def hook(_m, _i, out):
        seen["std"] = float(out.std())

    h = conv.register_forward_hook(hook)
    with torch.no_grad():
        model(*args)
        h.remove()
        conv.weight.div_(seen["std"])
        conv.bias.div_(seen["std"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="/tmp/ditto_bench")
    ap.add_argument("--networks", help="comma-separated subset (default: all 12)")
    ap.add_argument("--check", action="store_true", help="also check onnxruntime against PyTorch")
    ap.add_argument("--denormals", action="store_true", help="report subnormal activations")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    wanted = set(args.networks.split(",")) if args.networks else None
    nets = g.full_networks(torch.Generator().manual_seed(g.SEED))
    if wanted:
        unknown = wanted - {n.folder for n in nets}
        if unknown:
            sys.exit(f"unknown networks {sorted(unknown)}; have {[n.folder for n in nets]}")
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = {"generator": "tests/bench/onnx/gen_ditto_bench.py", "modules": "tests/golden/gen_ditto_onnx.py FULL",
                "seed": g.SEED, "exporter": "torch.onnx.export, TorchScript exporter (dynamo=False), "
                "do_constant_folding=True", "graphs": {}}
    if os.path.exists(manifest_path):  # a subset run keeps the other entries
        with open(manifest_path) as f:
            manifest["graphs"] = json.load(f).get("graphs", {})
    manifest["versions"] = {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                            "safetensors": safetensors.__version__, "python": platform.python_version()}
    for i, net in enumerate(nets):
        if wanted and net.folder not in wanted:
            continue
        t0 = time.time()
        # The seeds of the fixture generator (same index per network).
        torch.manual_seed(g.SEED + i)
        gen = torch.Generator().manual_seed(g.SEED + 100 + i)
        model = g.randomise(net.make(), gen).eval()
        if net.folder == "decoder":
            unsaturate(model, tuple(net.inputs[k] for k in net.input_names))
        params = sum(p.numel() for p in model.parameters())
        args_ = tuple(net.inputs[k] for k in net.input_names)
        with torch.no_grad():
            ref = model(*args_)
        if args.denormals:
            share, worst = subnormal_share(model, args_)
            print(f"{net.folder}: subnormal share {share:.2e}, worst {worst[0]:.2e} in {worst[1]}", file=sys.stderr)
        for mod in model.modules():  # export as a first call (rotary angles in the graph), as the fixtures
            if isinstance(mod, g.Rotary):
                mod.cache.clear()
        ref = ref if isinstance(ref, tuple) else (ref,)
        torch_out = dict(zip(net.output_names, (r.detach().numpy() for r in ref)))
        m = g.export(model, args_, net.input_names, net.output_names, net.opset, net.dynamic_axes, net.training)
        m.producer_name = "gen_ditto_bench.py (torch.onnx TorchScript exporter)"
        if not net.dynamic_axes:
            g.declare_output_shapes(m, torch_out)
        onnx.checker.check_model(m)
        inputs = {k: stored(v) for k, v in net.inputs.items()}
        folder = os.path.join(args.out, net.folder)
        os.makedirs(folder, exist_ok=True)
        onnx_path = os.path.join(folder, net.graph + ".onnx")
        onnx.save(m, onnx_path)
        save_file(inputs, os.path.join(folder, net.graph + ".inputs.safetensors"), metadata={"graph": net.graph})
        save_file({k: np.ascontiguousarray(v) for k, v in torch_out.items()},
                  os.path.join(folder, net.graph + ".torch.safetensors"), metadata={"graph": net.graph})
        entry = {"file": f"{net.folder}/{net.graph}.onnx", "graph": net.graph, "opset": net.opset,
                 "config": {k: v for k, v in g.FULL[net.folder].items()}, "parameters": params,
                 "onnx_bytes": os.path.getsize(onnx_path),
                 "nodes": sum(1 for n in m.graph.node if n.op_type != "Constant"),
                 "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in inputs.items()},
                 "outputs": {k: list(v.shape) for k, v in torch_out.items()}}
        if args.check:
            sess_out = g.run_ort(m, inputs)
            entry["ort_vs_torch_rel_l2"] = {k: g.rel_l2(sess_out[k], torch_out[k]) for k in net.output_names}
        manifest["graphs"][net.folder] = entry
        print(f"{net.folder}: {params / 1e6:.2f} M parameters, {entry['nodes']} nodes, "
              f"{entry['onnx_bytes'] / 1e6:.1f} MB, inputs {entry['inputs']}, outputs {entry['outputs']}"
              + (f", ort vs torch {entry['ort_vs_torch_rel_l2']}" if args.check else "")
              + f" ({time.time() - t0:.0f} s)", file=sys.stderr)
        del model, m, ref
        with open(manifest_path, "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True, default=str)
            f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
