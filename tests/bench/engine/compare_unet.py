#!/usr/bin/env python3
"""A full-size sd-turbo-shaped UNet, one forward with random weights, ours vs
diffusers on PyTorch (CPU, float32), same threads, in the same run.

Each measurement is its own process (so each peak resident memory belongs to
one model at one size); the two sides take turns per row. Prints a Markdown
table: seconds per step (best of --repeats after nothing else) and peak RSS.

    /root/venv-golden/bin/python tests/bench/engine/compare_unet.py --build build/models-rel [--threads 2]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CONFIG = os.path.join(ROOT, "tests", "golden", "manifests", "config", "sd-turbo", "unet.config.json")
MANIFEST = os.path.join(ROOT, "tests", "golden", "manifests", "sd-turbo_unet.txt")


def torch_side(size, threads, repeats):
    import diffusers
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1234)
    with open(CONFIG) as f:
        config = json.load(f)
    model = diffusers.UNet2DConditionModel.from_config(config).eval()
    sample = torch.randn(1, 4, size // 8, size // 8)
    context = torch.randn(1, 77, config["cross_attention_dim"])
    t = torch.tensor([999.0])
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            model(sample, t, encoder_hidden_states=context)
            best = min(best, time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "diffusers", "size": size, "threads": threads, "seconds": round(best, 3),
                      "peak_rss_mib": round(rss), "torch": torch.__version__, "diffusers": diffusers.__version__}))


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "models-rel"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--torch-side", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_side:
        torch_side(args.torch_side, args.threads, args.repeats)
        return
    exe = os.path.join(args.build, "tests", "bench", "engine", "bench_unet")
    if not os.path.exists(exe):
        sys.exit(f"{exe} not found: build the bench_unet target (release) first")
    env = dict(os.environ, SC_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS="1")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        ours = run([exe, CONFIG, MANIFEST, str(size), str(args.repeats)], env)
        theirs = run([sys.executable, __file__, "--torch-side", str(size), "--threads", str(args.threads),
                      "--repeats", str(args.repeats)], env)
        rows.append((size, ours, theirs))
        print(json.dumps(ours), json.dumps(theirs), file=sys.stderr)
    print(f"| image | threads | ours s/step | diffusers s/step | ours/diffusers time | ours peak RSS MiB | diffusers peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for size, ours, theirs in rows:
        print(f"| {size}x{size} | {args.threads} | {ours['seconds']:.2f} | {theirs['seconds']:.2f} | "
              f"{ours['seconds'] / theirs['seconds']:.2f} | {ours['peak_rss_mib']} | {theirs['peak_rss_mib']} |")


if __name__ == "__main__":
    main()
