#!/usr/bin/env python3
"""Ditto's networks at full size: our ONNX importer (streamcanvas-cli, CPU)
against onnxruntime's CPU provider, same threads, in the same run.

Reads the graphs gen_ditto_bench.py wrote (default /tmp/ditto_bench) and, per
network, in this order:

1. onnxruntime, CPUExecutionProvider, intra_op_num_threads = THREADS,
   inter_op_num_threads = 1, sequential, graph optimisations at ORT's default
   (ORT_ENABLE_ALL): --warmup runs, then n timed runs (n = --repeats, fewer
   where a run is slow: at least 3, about --budget-s seconds a column);
2. the same with graph optimisations disabled (ORT_DISABLE_ALL; skip with
   --no-ort-disabled);
3. ours: `streamcanvas-cli models run G.onnx --inputs I --output O --device cpu
   --bench n` with SC_NUM_THREADS = THREADS (our engine's one thread pool,
   base/thread_pool.cpp; OpenBLAS is kept at one thread by the engine and
   OPENBLAS_NUM_THREADS=1 here). The CLI's first forward is its warm-up; it
   prints the mean and the fastest of the n timed ones;
4. the relative L2 of each of our outputs against ORT's (worst output), and
   the same against the output's spread (||a - b|| / ||b - mean(b)||, which
   catches errors in outputs that sit near a constant, e.g. sigmoid scores);
5. GFLOP: 2 x the multiply-adds of the graph's Conv / MatMul / Gemm nodes at
   their run-time shapes (from one profiled ORT run without optimisations,
   after the timings; --no-flops skips it).

Each side runs alone (ORT's sessions are freed before the CLI starts).
Prints one Markdown table, the versions and the command lines.

    /work/venv-ditto/bin/python tests/bench/onnx/compare_ort.py [--dir /tmp/ditto_bench]
        [--cli /work/main/build/release/app/cli/streamcanvas-cli] [--threads 2] [--networks a,b]
    ... compare_ort.py --profile decoder    # our op-by-op profile, ORT's, ORT's top nodes with shapes
    ... compare_ort.py --nodes warp_network --top 4   # its 4 largest nodes, each alone, ours vs ORT

Before starting it waits (up to --wait-min minutes) for the 1-minute load
average to drop to --max-load; per row it records how much CPU other
processes took meanwhile ("others' CPU", in cores: 0 is a quiet machine).
Each row starts after a 10 s window in which others took at most --max-others
cores, and is measured again (up to --retries times, keeping the quietest
attempt) when others took more than that while it ran.
"""

import argparse
import gc
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

DEFAULT_CLI = "/work/main/build/release/app/cli/streamcanvas-cli"
ORDER = ["appearance_extractor", "motion_extractor", "warp_network", "decoder", "stitch_network", "lmdm", "hubert",
         "insightface_det", "landmark106", "landmark203", "blaze_face", "face_mesh"]


def loadavg():
    with open("/proc/loadavg") as f:
        return tuple(float(x) for x in f.read().split()[:3])


def wait_quiet(max_load, minutes):
    deadline = time.time() + 60 * minutes
    while True:
        la = loadavg()
        if la[0] <= max_load:
            return la, True
        if time.time() >= deadline:
            return la, False
        print(f"load {la[0]:.2f} > {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(30)


def cpu_clock():
    """(seconds the machine's CPUs were busy, of which niced, seconds this process and its waited-for
    children used): the difference tells how much CPU other processes took meanwhile."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = (sum(v[:8]) - v[3] - v[4]) / hz  # all but idle and iowait
    t = os.times()
    return busy, v[1] / hz, t.user + t.system + t.children_user + t.children_system


def others_cpu(c0, c1, wall):
    """Cores' worth of CPU other processes used between two cpu_clock() readings (and the niced part)."""
    return max(0.0, (c1[0] - c0[0]) - (c1[2] - c0[2])) / wall, (c1[1] - c0[1]) / wall


def quiet_window(max_others, minutes, window_s=10.0):
    """Wait until other processes use less than max_others cores over a window_s window (at most
    `minutes`); returns the last window's reading."""
    deadline = time.time() + 60 * minutes
    while True:
        c0, w0 = cpu_clock(), time.time()
        time.sleep(window_s)
        busy, _ = others_cpu(c0, cpu_clock(), time.time() - w0)
        if busy <= max_others or time.time() >= deadline:
            return busy
        print(f"others use {busy:.2f} cores: waiting", file=sys.stderr, flush=True)


def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def rel_l2_centred(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    if b.size < 2:
        return rel_l2(a, b)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b - b.mean()), 1e-30))


def session(path, threads, optimise, profile_prefix=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def time_ort(sess, feeds, warmup, repeats, budget_s, n=None):
    """(times in ms, outputs, n). n is chosen from the warm-up when not given."""
    names = [o.name for o in sess.get_outputs()]
    t = 0.0
    out = None
    for _ in range(max(warmup, 1)):
        t0 = time.perf_counter()
        out = sess.run(names, feeds)
        t = time.perf_counter() - t0
    if n is None:
        n = max(3, min(repeats, int(budget_s / max(t, 1e-6))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sess.run(names, feeds)
        times.append(1e3 * (time.perf_counter() - t0))
    return times, dict(zip(names, out)), n


def cli_env(threads):
    env = dict(os.environ)
    env.update({"SC_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    return env


def run_cli(cli, graph, inputs, output, threads, bench, profile=False, timeout=3600):
    cmd = [cli, "models", "run", graph, "--inputs", inputs, "--output", output, "--device", "cpu"]
    if bench:
        cmd += ["--bench", str(bench)]
    if profile:
        cmd += ["--profile"]
    p = subprocess.run(cmd, env=cli_env(threads), capture_output=True, text=True, timeout=timeout)
    res = {"cmd": f"SC_NUM_THREADS={threads} OPENBLAS_NUM_THREADS=1 " + shlex.join(cmd), "rc": p.returncode,
           "stdout": p.stdout, "stderr": p.stderr}
    m = re.search(r"bench: (\d+) forwards, ([\d.]+) ms each on average, ([\d.]+) ms the fastest", p.stdout)
    if m:
        res.update(n=int(m.group(1)), mean=float(m.group(2)), min=float(m.group(3)))
    m = re.search(r"loaded in ([\d.]+) ms, first forward ([\d.]+) ms", p.stdout)
    if m:
        res.update(load_ms=float(m.group(1)), first_ms=float(m.group(2)))
    m = re.search(r"\((\d+) nodes: (\d+) folded at load, (\d+) at plan, (\d+) fused; (\d+) steps per forward\)",
                  p.stdout)
    if m:
        res["plan"] = dict(zip(("nodes", "folded_load", "folded_plan", "fused", "steps"), map(int, m.groups())))
    return res


def shape_text(arr):
    return "x".join(str(d) for d in arr.shape) if arr.ndim else "scalar"


def describe_inputs(feeds):
    return "; ".join(f"{k} {shape_text(v)}" + ("" if v.dtype == np.float32 else f" {v.dtype}")
                     for k, v in feeds.items())


def graph_files(d, network, manifest):
    entry = manifest["graphs"].get(network)
    if not entry:
        raise SystemExit(f"{network}: not in {d}/manifest.json (run gen_ditto_bench.py)")
    onnx_path = os.path.join(d, entry["file"])
    stem = onnx_path[: -len(".onnx")]
    return onnx_path, stem + ".inputs.safetensors", stem + ".torch.safetensors"


def versions(cli):
    v = {"onnxruntime": ort.__version__, "numpy": np.__version__, "python": platform.python_version(),
         "ort_providers": ort.get_available_providers()}
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        v["cpu"] = re.search(r"model name\s*:\s*(.*)", txt).group(1)
        flags = re.search(r"flags\s*:\s*(.*)", txt).group(1).split()
        v["cpu_flags"] = " ".join(x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni") if x in flags)
    except Exception:
        pass
    v["cpus"] = len(os.sched_getaffinity(0))
    v["kernel"] = platform.release()
    try:
        with open("/etc/debian_version") as f:
            v["debian"] = f.read().strip()
    except OSError:
        pass
    try:
        v["openblas"] = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libopenblas0-pthread"],
                                       capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    v["cli"] = cli
    if os.path.exists(cli):
        v["cli_mtime"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(cli)))
        src = os.path.dirname(os.path.abspath(cli))
        top = subprocess.run(["git", "-C", src, "rev-parse", "--show-toplevel"], capture_output=True, text=True)
        if top.returncode == 0:
            root = top.stdout.strip()
            head = subprocess.run(["git", "-C", root, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
            dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True).stdout.strip()
            # The tree's HEAD when this ran: the binary may be older (see cli_mtime).
            v["cli_tree_head_now"] = f"{root} at {head.stdout.strip()[:90]}" + (" (modified)" if dirty else "")
        cache = os.path.join(os.path.dirname(os.path.dirname(src)), "CMakeCache.txt")
        if os.path.exists(cache):
            with open(cache) as f:
                m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", f.read(), re.M)
            if m:
                v["cli_build_type"] = m.group(1)
    return v


def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def bench(args, manifest):
    rows = []
    for network in args.networks:
        best = None
        for attempt in range(args.retries + 1):
            idle = quiet_window(args.max_others, args.wait_min)
            row = measure(args, manifest, network)
            row.update(attempt=attempt + 1, idle_before=idle)
            if best is None or row["others_cpu"] < best["others_cpu"]:
                best = row
            if row["others_cpu"] <= args.max_others:
                break
            print(f"  others used {row['others_cpu']:.2f} cores: measuring {network} again", file=sys.stderr,
                  flush=True)
        rows.append(best)
    return rows


def measure(args, manifest, network):
    onnx_path, in_path, torch_path = graph_files(args.dir, network, manifest)
    feeds = load_file(in_path)
    row = {"network": network, "inputs": describe_inputs(feeds), "load_before": loadavg()}
    c0, w0 = cpu_clock(), time.time()
    print(f"{network}: {row['inputs']} (load {row['load_before'][0]:.2f})", file=sys.stderr, flush=True)
    sess = session(onnx_path, args.threads, True)
    times, ref, n = time_ort(sess, feeds, args.warmup, args.repeats, args.budget_s)
    del sess
    row.update(n=n, ort=times)
    if args.ort_disabled:
        sess = session(onnx_path, args.threads, False)
        times, _, _ = time_ort(sess, feeds, 1, args.repeats, args.budget_s, n=n)
        del sess
        row["ort_noopt"] = times
    gc.collect()
    torch_ref = load_file(torch_path) if os.path.exists(torch_path) else {}
    row["ort_vs_torch"] = max((rel_l2(ref[k], torch_ref[k]) for k in ref if k in torch_ref), default=None)
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "out.safetensors")
        r = run_cli(args.cli, onnx_path, in_path, out_path, args.threads, n)
        row["cli"] = {k: v for k, v in r.items() if k not in ("stdout", "stderr")}
        if r["rc"] != 0 or "mean" not in r:
            row["error"] = (r["stderr"].strip() or r["stdout"].strip()).splitlines()[-1:] or ["rc != 0"]
            row["error"] = row["error"][0][:300]
        else:
            ours = load_file(out_path)
            missing = [k for k in ref if k not in ours]
            if missing:
                row["error"] = f"outputs missing: {missing}"
            errs = {k: rel_l2(ours[k], ref[k]) for k in ref if k in ours}
            cerrs = {k: rel_l2_centred(ours[k], ref[k]) for k in ref if k in ours}
            row["rel_l2"] = errs
            row["rel_l2_centred"] = cerrs
    row["load_after"] = loadavg()
    row["others_cpu"], row["others_niced"] = others_cpu(c0, cpu_clock(), time.time() - w0)
    if args.flops:  # after the timings: one unoptimised, profiled ORT run
        row["gflop"] = sum(n["flops"] for n in graph_flops(onnx_path, feeds, args.threads)) / 1e9
    print(f"  others' CPU {row['others_cpu']:.2f} cores; ORT {statistics.mean(row['ort']):.2f} ms, ours {row['cli'].get('mean', 'error')} ms"
          + (f", ERROR {row['error']}" if "error" in row else f", rel-L2 {max(row['rel_l2'].values()):.1e}"),
          file=sys.stderr, flush=True)
    return row


def table(rows, with_noopt):
    head = ["network", "inputs", "GFLOP", "n", "ORT ms mean", "ORT median (min-max)"]
    if with_noopt:
        head.append("ORT no-opt mean")
    head += ["ours ms mean", "ours min", "ours/ORT mean", "ours/ORT min", "rel-L2 vs ORT", "centred", "others' CPU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        o = r["ort"]
        gf = r.get("gflop")
        cells = [r["network"], r["inputs"], "-" if gf is None else f"{gf:.3g}", str(r["n"]), fmt_ms(statistics.mean(o)),
                 f"{fmt_ms(statistics.median(o))} ({fmt_ms(min(o))}-{fmt_ms(max(o))})"]
        if with_noopt:
            cells.append(fmt_ms(statistics.mean(r["ort_noopt"])) if r.get("ort_noopt") else "-")
        c = r["cli"]
        if "mean" in c:
            cells += [fmt_ms(c["mean"]), fmt_ms(c["min"]), f"{c['mean'] / statistics.mean(o):.2f}",
                      f"{c['min'] / min(o):.2f}"]
        else:
            cells += ["error", "-", "-", "-"]
        if r.get("rel_l2"):
            cells += [f"{max(r['rel_l2'].values()):.1e}", f"{max(r['rel_l2_centred'].values()):.1e}"]
        else:
            cells += ["-", "-"]
        cells.append(f"{r['others_cpu']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    errors = [f"- {r['network']}: {r['error']}" for r in rows if "error" in r]
    return "\n".join(lines + ([""] + errors if errors else []))


# ---------------------------------------------------------------------------
# --profile NETWORK
# ---------------------------------------------------------------------------

def conv_flops(ins, outs):
    """2 * MACs of a Conv from its input / output shapes (X, W[, B]) -> Y."""
    if len(ins) < 2 or not outs:
        return 0.0
    w, y = ins[1], outs[0]
    if len(w) < 3 or len(y) != len(w):
        return 0.0
    # W [Cout, Cin/g, k...], Y [N, Cout, spatial...]
    return 2.0 * float(np.prod(y, dtype=np.float64)) * float(np.prod(w[1:], dtype=np.float64))


def matmul_flops(ins, outs):
    # The profile may leave initializer inputs out: A and Y are enough (no transA in these graphs).
    if not ins or not outs:
        return 0.0
    a = ins[0]
    k = a[-1] if a else 1
    return 2.0 * float(np.prod(outs[0], dtype=np.float64)) * k


def node_flops(op, ins, outs):
    if op in ("Conv", "FusedConv", "NchwcConv", "QLinearConv"):
        return conv_flops(ins, outs)
    if op in ("MatMul", "FusedMatMul", "Gemm"):
        return matmul_flops(ins, outs)
    return 0.0


def graph_flops(onnx_path, feeds, threads):
    """Conv / MatMul / Gemm nodes of the graph itself with their run-time shapes and FLOPs (2 x MACs),
    from a profile of ORT with graph optimisations off (no fusion, no NCHWc layout)."""
    prefix = os.path.join(tempfile.mkdtemp(), "ort_noopt")
    sess = session(onnx_path, threads, False, profile_prefix=prefix)
    names = [o.name for o in sess.get_outputs()]
    sess.run(names, feeds)
    path = sess.end_profiling()
    with open(path) as f:
        events = json.load(f)
    out = []
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        a = e.get("args", {})
        op = a.get("op_name", "?")
        if op not in ("Conv", "MatMul", "Gemm"):
            continue
        ins, outs = shapes_of(a.get("input_type_shape")), shapes_of(a.get("output_type_shape"))
        out.append({"name": e["name"][: -len("_kernel_time")], "op": op, "in": ins, "out": outs,
                    "flops": node_flops(op, ins, outs)})
    os.remove(path)
    return out


def shapes_of(lst):
    out = []
    for d in lst or []:
        for _, v in d.items():
            out.append(list(v))
    return out


def ort_profile(onnx_path, feeds, threads, runs=5):
    """ORT's own per-node profile: one warm-up, then `runs` profiled runs; each node's median."""
    prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = session(onnx_path, threads, True, profile_prefix=prefix)
    names = [o.name for o in sess.get_outputs()]
    for _ in range(runs + 1):
        sess.run(names, feeds)
    path = sess.end_profiling()
    with open(path) as f:
        events = json.load(f)
    windows = [(e["ts"], e["ts"] + e["dur"]) for e in events
               if e.get("cat") == "Session" and e.get("name") == "model_run"][1:]
    per = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if not any(t0 <= e["ts"] <= t1 for t0, t1 in windows):
            continue
        a = e.get("args", {})
        name = e["name"][: -len("_kernel_time")]
        if name not in per:
            ins, outs = shapes_of(a.get("input_type_shape")), shapes_of(a.get("output_type_shape"))
            op = a.get("op_name", "?")
            per[name] = {"name": name, "op": op, "times": [], "in": ins, "out": outs,
                         "flops": node_flops(op, ins, outs)}
        per[name]["times"].append(e["dur"] / 1e3)
    nodes = []
    for n in per.values():
        n["ms"] = statistics.median(n.pop("times"))
        nodes.append(n)
    return nodes, statistics.median(t1 - t0 for t0, t1 in windows) / 1e3


def print_profile(args, manifest):
    network = args.profile
    onnx_path, in_path, _ = graph_files(args.dir, network, manifest)
    feeds = load_file(in_path)
    la, quiet = wait_quiet(args.max_load, args.wait_min)
    print(f"# profile of {network} ({describe_inputs(feeds)}), {args.threads} threads, load {la[0]:.2f}\n")
    with tempfile.TemporaryDirectory() as tmp:
        r = run_cli(args.cli, onnx_path, in_path, os.path.join(tmp, "o.safetensors"), args.threads, 0, profile=True)
    print("$ " + r["cmd"])
    if r["rc"] != 0:
        print(r["stdout"] + r["stderr"])
        return
    ours = {}
    keep = False
    for line in r["stdout"].splitlines():
        if line.startswith("=="):
            keep = True
        if keep and (line.startswith("output ") or line.startswith("wrote ")):
            keep = False
        if line.startswith("model:") or line.startswith("device:") or keep:
            print(line)
        m = re.match(r"^(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)%$", line)
        if keep and m:
            ours[m.group(1)] = (int(m.group(2)), float(m.group(3)))
    nodes, total = ort_profile(onnx_path, feeds, args.threads)
    by_op = {}
    for n in nodes:
        c, ms, fl = by_op.get(n["op"], (0, 0.0, 0.0))
        by_op[n["op"]] = (c + 1, ms + n["ms"], fl + n["flops"])
    ksum = sum(n["ms"] for n in nodes)
    print(f"\n== onnxruntime {ort.__version__} (ORT_ENABLE_ALL, fused op names), op by op "
          f"(each node's median of 5 runs: {ksum:.2f} ms; a run {total:.2f} ms)")
    print(f"{'op':<24} {'calls':>8} {'total ms':>11} {'share':>7} {'GFLOP':>8} {'GFLOP/s':>8}")
    for op, (c, ms, fl) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        gf = f"{fl / 1e9:8.2f} {fl / 1e6 / ms:8.1f}" if fl else ""
        print(f"{op:<24} {c:>8} {ms:>11.3f} {100 * ms / ksum:>6.1f}% {gf}")
    gnodes = graph_flops(onnx_path, feeds, args.threads)
    total_fl = sum(n["flops"] for n in gnodes)
    conv_fl = sum(n["flops"] for n in gnodes if n["op"] == "Conv")
    mm_fl = sum(n["flops"] for n in gnodes if n["op"] in ("MatMul", "Gemm"))
    is_mm = lambda op: "MatMul" in op or "Gemm" in op  # noqa: E731 (our fused "MatMul+Add" too)
    ort_conv_ms = sum(ms for op, (c, ms, fl) in by_op.items() if "Conv" in op)
    ort_mm_ms = sum(ms for op, (c, ms, fl) in by_op.items() if is_mm(op))
    print(f"\n== GFLOP/s from the graph's own FLOPs ({total_fl / 1e9:.2f} GFLOP in Conv / MatMul / Gemm)")
    print(f"{'':<12} {'GFLOP':>8} {'ours ms':>9} {'ours GF/s':>9} {'ORT ms':>9} {'ORT GF/s':>9}")
    mm_ms = sum(v[1] for k, v in ours.items() if is_mm(k))
    conv_ms = sum(v[1] for k, v in ours.items() if "Conv" in k)
    for label, fl, o_ms, r_ms in (("Conv", conv_fl, conv_ms, ort_conv_ms),
                                  ("MatMul+Gemm", mm_fl, mm_ms, ort_mm_ms)):
        if fl:
            print(f"{label:<12} {fl / 1e9:8.3f} {o_ms:9.1f} {fl / 1e6 / o_ms if o_ms else 0:9.1f} {r_ms:9.1f} "
                  f"{fl / 1e6 / r_ms if r_ms else 0:9.1f}")
    print(f"\n== the graph's {args.top} largest Conv / MatMul / Gemm nodes by FLOPs")
    print(f"{'GFLOP':>8} {'share':>6}  op inputs (X, W, B) -> output")
    for n in sorted(gnodes, key=lambda n: -n["flops"])[: args.top]:
        ins = ", ".join("x".join(map(str, s)) for s in n["in"])
        print(f"{n['flops'] / 1e9:8.3f} {100 * n['flops'] / max(total_fl, 1):5.1f}%  {n['op']} {ins} -> "
              f"{'x'.join(map(str, n['out'][0]))}  ({n['name']})")
    print(f"\n== onnxruntime, the {args.top} slowest nodes (median of 5 runs; NCHWc nodes show channels padded"
          " to its block)")
    print(f"{'ms':>9} {'share':>6} {'GFLOP/s':>8}  op / inputs -> outputs")
    for n in sorted(nodes, key=lambda n: -n["ms"])[: args.top]:
        gfs = f"{n['flops'] / 1e6 / n['ms']:8.1f}" if n["flops"] else " " * 8
        ins = ", ".join("x".join(map(str, s)) for s in n["in"])
        outs = ", ".join("x".join(map(str, s)) for s in n["out"])
        print(f"{n['ms']:9.3f} {100 * n['ms'] / ksum:5.1f}% {gfs}  {n['op']} {ins} -> {outs}  ({n['name']})")


# ---------------------------------------------------------------------------
# --nodes NETWORK: the largest nodes alone, ours vs ORT
# ---------------------------------------------------------------------------

def single_node_model(model, node, in_shapes):
    """A graph of one node of `model`: its run-time inputs (shapes from the profile) as graph inputs,
    its constant inputs copied as initializers."""
    import onnx
    from onnx import helper
    inits = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    inputs, initializers, nodes = [], [], []
    shapes = iter(in_shapes)
    for name in node.input:
        if not name:
            continue
        if name in inits:
            initializers.append(inits[name])
        elif name in consts:
            nodes.append(consts[name])
        else:
            inputs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, next(shapes)))
    out = helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes + [node], "single_" + node.op_type, inputs, [out], initializers)
    m = helper.make_model(graph, opset_imports=list(model.opset_import))
    m.ir_version = model.ir_version
    return m


def print_nodes(args, manifest):
    import onnx
    network = args.nodes
    onnx_path, in_path, _ = graph_files(args.dir, network, manifest)
    feeds = load_file(in_path)
    gnodes = graph_flops(onnx_path, feeds, args.threads)
    chosen = sorted(gnodes, key=lambda n: -n["flops"])[: args.top]
    if args.node_names:
        want = args.node_names.split(",")
        chosen = [n for n in gnodes if n["name"] in want]
    model = onnx.load(onnx_path)
    by_name = {n.name: n for n in model.graph.node}
    la, _ = wait_quiet(args.max_load, args.wait_min)
    print(f"# {network}: single-node graphs, ours vs onnxruntime (ORT_ENABLE_ALL), {args.threads} threads, "
          f"load {la[0]:.2f}\n")
    print("| node | op | inputs -> output | GFLOP | ORT ms | ours ms | ours/ORT | ORT GFLOP/s | ours GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for n in chosen:
            node = by_name[n["name"]]
            runtime = [x for x in node.input if x and x not in {i.name for i in model.graph.initializer}]
            m = single_node_model(model, node, n["in"][: len(runtime)])
            path = os.path.join(tmp, "node.onnx")
            onnx.save(m, path)
            x = {i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
                 for i in m.graph.input}
            from safetensors.numpy import save_file
            save_file(x, os.path.join(tmp, "in.safetensors"))
            sess = session(path, args.threads, True)
            times, _, k = time_ort(sess, x, args.warmup, args.repeats, args.budget_s)
            del sess
            r = run_cli(args.cli, path, os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "o.safetensors"),
                        args.threads, k)
            ort_ms = statistics.mean(times)
            ours = r.get("mean")
            ins = ", ".join("x".join(map(str, s)) for s in n["in"])
            cells = [n["name"], n["op"], f"{ins} -> {'x'.join(map(str, n['out'][0]))}", f"{n['flops'] / 1e9:.2f}",
                     fmt_ms(ort_ms), fmt_ms(ours) if ours else "error",
                     f"{ours / ort_ms:.2f}" if ours else "-", f"{n['flops'] / 1e6 / ort_ms:.0f}",
                     f"{n['flops'] / 1e6 / ours:.0f}" if ours else "-"]
            print("| " + " | ".join(cells) + " |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/ditto_bench")
    ap.add_argument("--cli", default=DEFAULT_CLI)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10, help="timed runs a side at most")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=20.0, help="fewer repeats (>= 3) past this many seconds")
    ap.add_argument("--networks", help="comma-separated subset, default all")
    ap.add_argument("--no-ort-disabled", dest="ort_disabled", action="store_false")
    ap.add_argument("--no-flops", dest="flops", action="store_false",
                    help="skip the GFLOP column (one unoptimised, profiled ORT run a network)")
    ap.add_argument("--profile", metavar="NETWORK", help="print op-by-op profiles for one network")
    ap.add_argument("--nodes", metavar="NETWORK",
                    help="time the --top largest Conv / MatMul / Gemm nodes of NETWORK alone (or --node-names)")
    ap.add_argument("--node-names", help="with --nodes: these nodes (comma-separated names) instead")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--max-load", type=float, default=1.0)
    ap.add_argument("--wait-min", type=float, default=20.0)
    ap.add_argument("--max-others", type=float, default=0.2,
                    help="a row is measured again when other processes took more cores than this")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--json", help="also write every measurement here")
    args = ap.parse_args()
    if not os.path.exists(args.cli):
        sys.exit(f"no CLI at {args.cli}")
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    if args.profile:
        print_profile(args, manifest)
        return
    if args.nodes:
        print_nodes(args, manifest)
        return
    args.networks = args.networks.split(",") if args.networks else [n for n in ORDER if n in manifest["graphs"]]
    la, quiet = wait_quiet(args.max_load, args.wait_min)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    rows = bench(args, manifest)
    v = versions(args.cli)
    print(f"# Ditto networks, ours vs onnxruntime CPU, {args.threads} threads ({started})\n")
    print(table(rows, args.ort_disabled))
    again = [f"{r['network']} ({r['attempt']})" for r in rows if r.get("attempt", 1) > 1]
    if again:
        print("\nmeasured again (attempt kept): " + ", ".join(again))
    print("\nothers' CPU: cores' worth of CPU that other processes used while the row ran (/proc/stat busy time"
          " less this process and the CLI; 0 = the machine was ours; niced builds count)")
    print(f"load average before the run: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
          + ("" if quiet else f" (still above {args.max_load} after {args.wait_min:g} min: ran anyway)")
          + f"; after: {' '.join(f'{x:.2f}' for x in loadavg())}")
    worst_ort = max((r["ort_vs_torch"] for r in rows if r.get("ort_vs_torch") is not None), default=None)
    if worst_ort is not None:
        print(f"ORT (optimised) vs PyTorch, worst relative L2: {worst_ort:.1e}")
    print("\nversions: " + json.dumps(v))
    print("\ncommands:")
    print("  " + shlex.join([sys.executable] + sys.argv))
    print(f"  ORT: InferenceSession(G.onnx, providers=['CPUExecutionProvider']), intra_op_num_threads={args.threads},"
          " inter_op_num_threads=1, ORT_SEQUENTIAL, ORT_ENABLE_ALL (and ORT_DISABLE_ALL); "
          f"{args.warmup} warm-up runs, then n timed sess.run calls")
    for r in rows:
        print(f"  ours: {r['cli']['cmd']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"started": started, "load_before": la, "versions": v, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
