#!/usr/bin/env python3
"""Engine CPU ops vs PyTorch CPU, same shapes, same thread count, same run.

Runs bench_engine (Google Benchmark) with SC_NUM_THREADS=N, then the same ops
in PyTorch with torch.set_num_threads(N), and prints one table:

    work | ours GFLOP/s | torch GFLOP/s | ours/torch

For each row the two sides take turns, --repeats times (about a second
each), and each reports its best: other processes on a shared machine only
ever make a run slower, and taking turns exposes both to the same
disturbances.
Needs torch (not a build or CI dependency): use the venv that made the golden
fixtures, e.g.
    /root/venv-golden/bin/python tests/bench/engine/compare_torch.py --build build/engine-rel
The build folder is configured (Release, tests on) and bench_engine built if
missing.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# name in bench_engine -> (label, torch setup); flops_of() gives the work
WORK = [
    ("BM_Sgemm/1024/1024/1024/real_time", "sgemm 1024x1024x1024", ("mm", 1024, 1024, 1024)),
    ("BM_Sgemm/4096/320/4096/real_time", "sgemm 4096x320x4096", ("mm", 4096, 320, 4096)),
    ("BM_Conv2d3x3/64/128/real_time", "conv2d 3x3 64->64 @128x128", ("conv", 64, 128)),
    ("BM_Conv2d3x3/320/64/real_time", "conv2d 3x3 320->320 @64x64", ("conv", 320, 64)),
    ("BM_Attention/4096/8/64/real_time", "attention seq 4096, 8 heads, d 64", ("attn", 4096, 8, 64)),
]


def flops_of(spec):
    kind = spec[0]
    if kind == "mm":
        _, m, k, n = spec
        return 2.0 * m * k * n
    if kind == "conv":
        _, c, hw = spec
        return 2.0 * c * c * 9 * hw * hw
    _, seq, heads, dim = spec
    return 4.0 * heads * seq * seq * dim


def bench_exe(build):
    exe = os.path.join(build, "tests", "bench", "engine", "bench_engine")
    if not os.path.exists(exe):
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.run(["cmake", "--preset", "release", "-B", build, "-DSC_BUILD_TESTS=ON"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "--target", "bench_engine"], cwd=ROOT, check=True)
    return exe


def ours(exe, threads, name):
    """One run of one bench_engine benchmark: GFLOP/s."""
    env = dict(os.environ, SC_NUM_THREADS=str(threads))
    pattern = "^" + re.escape(name.removesuffix("/real_time")) + "/"
    out = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=1", f"--benchmark_filter={pattern}"],
                         env=env, check=True, capture_output=True, text=True).stdout
    runs = [b["GFLOPS"] for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    if len(runs) != 1:
        sys.exit(f"bench_engine ran {len(runs)} benchmarks for {name}; expected 1")
    return runs[0]


def torch_work(spec):
    """The PyTorch call doing the same work as one bench_engine benchmark."""
    import torch
    import torch.nn.functional as F

    kind = spec[0]
    if kind == "mm":
        _, m, k, n = spec
        a, b = torch.randn(m, k), torch.randn(k, n)
        return lambda: torch.matmul(a, b)
    if kind == "conv":
        _, c, hw = spec
        x, w, bias = torch.randn(1, c, hw, hw), torch.randn(c, c, 3, 3), torch.randn(c)
        return lambda: F.conv2d(x, w, bias, padding=1)
    _, seq, heads, dim = spec
    q, k, v = (torch.randn(1, heads, seq, dim) for _ in range(3))
    return lambda: F.scaled_dot_product_attention(q, k, v)


def torch_run(fn, flops):
    """At least a second of calls (and at least 3): GFLOP/s."""
    fn()  # warm up: first calls pick kernels and allocate
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= 1.0 and count >= 3:
            return flops * count / elapsed * 1e-9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    exe = bench_exe(os.path.abspath(args.build))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    mine, theirs = {}, {}
    with torch.inference_mode():
        for name, _, spec in WORK:
            fn = torch_work(spec)
            for _ in range(args.repeats):
                mine[name] = max(mine.get(name, 0.0), ours(exe, args.threads, name))
                theirs[name] = max(theirs.get(name, 0.0), torch_run(fn, flops_of(spec)))
    version = torch.__version__
    print(f"threads: {args.threads} (of {os.cpu_count()} cores); torch {version}; best of {args.repeats}")
    print(f"{'work':<36} {'ours GFLOP/s':>12} {'torch GFLOP/s':>13} {'ours/torch':>10}")
    worst = None
    for name, label, _ in WORK:
        o, t = mine.get(name, 0.0), theirs[name]
        ratio = o / t if t else 0.0
        worst = ratio if worst is None else min(worst, ratio)
        print(f"{label:<36} {o:>12.1f} {t:>13.1f} {ratio:>10.2f}")
    print(f"slowest row: ours at {worst:.2f}x of torch (target: >= {1 / 1.5:.2f}, i.e. within 1.5x)")


if __name__ == "__main__":
    sys.exit(main())
