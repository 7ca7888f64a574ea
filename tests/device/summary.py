#!/usr/bin/env python3
"""The one table tests/device/run.sh ends with, from what it left in OUT_DIR:

  steps.tsv                         name, exit status, seconds, limit of each step
  <test>.json                       gtest JSON of each GPU test binary
  bench_engine_cuda_rows.jsonl      one line per bench_engine_cuda result
  bench_engine_cuda_<part>.json     Google Benchmark JSON (part: gemm, attention, unet), the fallback
  torch_reference.json              tests/device/torch_reference.py

Prints GPU test counts per binary, GEMM ours vs cuBLASLt (and torch),
attention ours vs PyTorch SDPA, UNet ms/forward ours eager / ours CUDA graph /
diffusers eager (and graph), with speed ratios; writes summary.json and
gpu_cases.txt (every test case) beside them. Standard library only.

    python3 tests/device/summary.py OUT_DIR [DEVICE_NAME]
"""

import json
import os
import re
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None


def read_steps(out):
    steps = {}
    try:
        with open(os.path.join(out, "steps.tsv")) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 4:
                    steps[parts[0]] = {"rc": int(parts[1]), "seconds": int(parts[2]), "limit": int(parts[3])}
    except OSError:
        pass
    return steps


def status_of(step):
    if step is None:
        return "not run"
    rc = step["rc"]
    if rc in (124, 137):
        return f"TIMEOUT {step['limit']}s"
    return "ok" if rc == 0 else f"rc={rc}"


def gtest(out, name, cases):
    j = load(os.path.join(out, f"{name}.json"))
    if j is None:
        return None
    passed = failed = skipped = 0
    for suite in j.get("testsuites", []):
        for case in suite.get("testsuite", []):
            full = f"{suite.get('name')}.{case.get('name')}"
            if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                status = "SKIPPED"
                skipped += 1
            elif case.get("failures"):
                status = "FAIL"
                failed += 1
            else:
                status = "pass"
                passed += 1
            cases.append((name, full, status, case.get("time", "")))
    return passed, failed, skipped


def bench_rows(out):
    """{(prefix, params...): entry} with ms / TFLOPS / error_occurred / error_message / label, from
    bench_engine_cuda_rows.jsonl (one line per result, written as measured, so it survives a timeout),
    else from the Google Benchmark JSON files (entries read one by one: a file cut short still gives
    the entries before the cut)."""
    rows = {}
    for part in ("gemm", "attention", "unet"):
        try:
            with open(os.path.join(out, f"bench_engine_cuda_{part}.json")) as fh:
                text = fh.read()
        except OSError:
            continue
        start = text.find('"benchmarks"')
        for m in re.finditer(r"\{[^{}]*\}", text[start:] if start >= 0 else ""):
            try:
                b = json.loads(m.group(0))
            except ValueError:
                continue
            if b.get("run_type", "iteration") != "iteration":
                continue
            name = b.get("run_name") or b.get("name", "")
            prefix = name.split("/")[0]
            params = {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", name) if k != "iterations"}
            rows[(prefix, tuple(sorted(params.items())))] = b
    prefixes = {("gemm", "engine"): "BM_GemmEngine", ("gemm", "cublaslt"): "BM_GemmCublasLt",
                ("attention", "engine"): "BM_Attention", ("unet", "eager"): "BM_UNet", ("unet", "graph"): "BM_UNet",
                ("img2img", "eager"): "BM_Img2Img", ("img2img", "graph"): "BM_Img2Img", ("conv", "auto"): "BM_Conv3x3",
                ("conv", "im2col"): "BM_Conv3x3", ("conv", "nhwc"): "BM_Conv3x3", ("taesd", "nchw"): "BM_Taesd",
                ("taesd", "nhwc"): "BM_Taesd"}
    try:
        with open(os.path.join(out, "bench_engine_cuda_rows.jsonl")) as fh:
            lines = fh.readlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        prefix = prefixes.get((r.get("group"), r.get("impl")))
        if not prefix:
            continue
        params = {k: v for k, v in r.items()
                  if isinstance(v, int) and not isinstance(v, bool) and k not in ("ms", "tflops")}
        if prefix == "BM_UNet":
            params["graph"] = 1 if r["impl"] == "graph" else 0
        if prefix == "BM_Conv3x3":
            params["impl"] = {"im2col": 0, "auto": 1, "nhwc": 2}[r["impl"]]
        if prefix == "BM_Taesd":
            params["nhwc"] = 1 if r["impl"] == "nhwc" else 0
        entry = {"ms": r.get("ms"), "TFLOPS": r.get("tflops") or None, "label": "" if r.get("error") else r.get("note", "")}
        if r.get("error"):
            entry.update(error_occurred=True, error_message=r.get("note", ""))
        rows[(prefix, tuple(sorted(params.items())))] = entry
    return rows


def get(rows, prefix, **params):
    return rows.get((prefix, tuple(sorted(params.items()))))


def num(entry, key):
    if not entry or entry.get("error_occurred"):
        return None
    v = entry.get(key)
    return float(v) if isinstance(v, (int, float)) else None


def ratio(a, b):
    return a / b if a and b else None


def f(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


def main():
    out = sys.argv[1]
    device = sys.argv[2] if len(sys.argv) > 2 else ""
    steps = read_steps(out)
    torch_ref = load(os.path.join(out, "torch_reference.json")) or {}
    rows = bench_rows(out)
    summary = {"device": device, "tests": {}, "gemm": [], "attention": [], "unet": [], "errors": []}
    lines = []
    p = lines.append
    meta = torch_ref.get("meta", {})
    p("=" * 100)
    p(f"StreamCanvas GPU suite on {device or meta.get('device_name', '?')}"
      f"  (torch {meta.get('torch', '-')}, diffusers {meta.get('diffusers', '-')})")
    p("=" * 100)

    # GPU tests
    cases = []
    p(f"{'GPU tests':<24} {'pass':>5} {'fail':>5} {'skip':>5}  {'status':<22} {'s':>5}")
    for name, step in steps.items():
        if not name.startswith("test_"):
            continue
        counts = gtest(out, name, cases)
        pa, fa, sk = counts if counts else (None, None, None)
        st = status_of(step) if counts else f"{status_of(step)}, no JSON"
        p(f"{name:<24} {pa if pa is not None else '-':>5} {fa if fa is not None else '-':>5} "
          f"{sk if sk is not None else '-':>5}  {st:<22} {step['seconds']:>5}")
        summary["tests"][name] = {"pass": pa, "fail": fa, "skip": sk, "rc": step["rc"], "seconds": step["seconds"]}
    with open(os.path.join(out, "gpu_cases.txt"), "w") as fh:
        for c in cases:
            fh.write(f"{c[0]:<20} {c[1]:<70} {c[2]:<8} {c[3]}\n")
    for c in cases:
        if c[2] != "pass":
            p(f"  {c[2]}: {c[0]} {c[1]}")

    # GEMM
    torch_gemm = {(r["M"], r["N"], r["K"]): r for r in torch_ref.get("gemm", [])}
    p("")
    p(f"{'GEMM f16 MxNxK':<18} {'ours TF/s':>10} {'cuBLASLt':>10} {'torch':>10} {'ours/cuBLASLt':>14} "
      f"{'ours/torch':>11}")
    shapes = sorted({(dict(k[1])["M"], dict(k[1])["N"], dict(k[1])["K"]) for k in rows if k[0].startswith("BM_Gemm")}
                    | set(torch_gemm), key=lambda s: -s[0] * s[1] * s[2])
    for m, n, k in shapes:
        ours = num(get(rows, "BM_GemmEngine", M=m, N=n, K=k), "TFLOPS")
        lt = num(get(rows, "BM_GemmCublasLt", M=m, N=n, K=k), "TFLOPS")
        th = torch_gemm.get((m, n, k), {}).get("tflops")
        p(f"{f'{m}x{n}x{k}':<18} {f(ours, 1):>10} {f(lt, 1):>10} {f(th, 1):>10} {f(ratio(ours, lt), 2):>14} "
          f"{f(ratio(ours, th), 2):>11}")
        summary["gemm"].append({"M": m, "N": n, "K": k, "ours_tflops": ours, "cublaslt_tflops": lt, "torch_tflops": th,
                                "ours_over_cublaslt": ratio(ours, lt), "ours_over_torch": ratio(ours, th)})

    if not shapes:
        p("  (no results)")

    # attention
    torch_att = {(r["B"], r["H"], r["Sq"], r["Sk"], r["D"], r["causal"]): r for r in torch_ref.get("attention", [])}
    att = {tuple(dict(k[1])[x] for x in ("B", "H", "Sq", "Sk", "D", "causal")): v
           for k, v in rows.items() if k[0] == "BM_Attention"}
    p("")
    p(f"{'attention f16 (vs SDPA)':<32} {'ours ms':>9} {'torch ms':>9} {'ours TF/s':>10} {'torch TF/s':>10} "
      f"{'ours/torch':>11}")
    for key in sorted(set(att) | set(torch_att), key=lambda t: (t[3] != t[2], t[5], t[0], t[1])):
        b, h, sq, sk, d, causal = key
        ours = att.get(key)
        th = torch_att.get(key, {})
        oms, ots = num(ours, "ms"), num(ours, "TFLOPS")
        tms, tts = th.get("ms"), th.get("tflops")
        what = f"B{b} H{h} Sq{sq} Sk{sk} D{d}{' causal' if causal else ''}"
        p(f"{what:<32} {f(oms):>9} {f(tms):>9} {f(ots, 1):>10} {f(tts, 1):>10} {f(ratio(tms, oms), 2):>11}")
        summary["attention"].append({"B": b, "H": h, "Sq": sq, "Sk": sk, "D": d, "causal": causal, "ours_ms": oms,
                                     "torch_ms": tms, "ours_over_torch": ratio(tms, oms)})

    if not att and not torch_att:
        p("  (no results)")

    # UNet
    torch_unet = {r["batch"]: r for r in torch_ref.get("unet", [])}
    p("")
    p(f"{'UNet sd-turbo 512x512 f16':<26} {'ours eager':>10} {'ours graph':>10} {'diff eager':>10} "
      f"{'diff graph':>10} {'eager x':>8} {'graph x':>8} {'graph/diff eager':>16}")
    batches = sorted({dict(k[1])["batch"] for k in rows if k[0] == "BM_UNet"} | set(torch_unet))
    for b in batches:
        oe = num(get(rows, "BM_UNet", batch=b, graph=0), "ms")
        og = num(get(rows, "BM_UNet", batch=b, graph=1), "ms")
        de = torch_unet.get(b, {}).get("eager_ms")
        dg = torch_unet.get(b, {}).get("graph_ms")
        p(f"{f'batch {b} (ms/forward)':<26} {f(oe, 2):>10} {f(og, 2):>10} {f(de, 2):>10} {f(dg, 2):>10} "
          f"{f(ratio(de, oe), 2):>8} {f(ratio(dg, og), 2):>8} {f(ratio(de, og), 2):>16}")
        summary["unet"].append({"batch": b, "ours_eager_ms": oe, "ours_graph_ms": og, "diffusers_eager_ms": de,
                                "diffusers_graph_ms": dg, "eager_speed": ratio(de, oe), "graph_speed": ratio(dg, og)})
    if not batches:
        p("  (no results)")

    # convolution
    p("")
    p(f"{'conv 3x3 f16 (n, ch, size)':<32} {'im2col ms':>10} {'NCHW ms':>10} {'NHWC ms':>10} {'NHWC x':>7}  "
      "(NCHW: conv2d, cuDNN or im2col, whichever timed faster; NHWC: conv2d_nhwc; x = NCHW time / NHWC time)")
    shapes = sorted({(dict(k[1])["n"], dict(k[1])["c"], dict(k[1])["size"]) for k in rows if k[0] == "BM_Conv3x3"})
    for n_, c_, sz in shapes:
        im = num(get(rows, "BM_Conv3x3", n=n_, c=c_, size=sz, impl=0), "ms")
        cd = num(get(rows, "BM_Conv3x3", n=n_, c=c_, size=sz, impl=1), "ms")
        cl = num(get(rows, "BM_Conv3x3", n=n_, c=c_, size=sz, impl=2), "ms")
        p(f"{f'{n_}, {c_}, {sz}x{sz}':<32} {f(im, 3):>10} {f(cd, 3):>10} {f(cl, 3):>10} {f(ratio(cd, cl), 2):>7}")
        summary.setdefault("conv", []).append({"n": n_, "c": c_, "size": sz, "im2col_ms": im, "nchw_ms": cd,
                                               "nhwc_ms": cl})
    if not shapes:
        p("  (no results)")

    # TAESD by layout
    p("")
    p(f"{'TAESD 512x512 f16':<32} {'NCHW ms':>10} {'NHWC ms':>10} {'NHWC x':>7} {'torch NCHW':>11} "
      f"{'torch NHWC':>11} {'ours/torch':>10}  (torch: cudnn.benchmark on; ours/torch: best of each, speed)")
    torch_taesd = {(r.get("part"), r.get("layout")): r.get("ms") for r in torch_ref.get("taesd", [])}
    for part, name in ((0, "encoder"), (1, "decoder")):
        nc = num(get(rows, "BM_Taesd", part=part, nhwc=0), "ms")
        nh = num(get(rows, "BM_Taesd", part=part, nhwc=1), "ms")
        tc, th = torch_taesd.get((name, "nchw")), torch_taesd.get((name, "nhwc"))
        if nc is None and nh is None:
            continue
        ours = min(x for x in (nc, nh) if x is not None)
        theirs = min((x for x in (tc, th) if x is not None), default=None)
        p(f"{name:<32} {f(nc, 3):>10} {f(nh, 3):>10} {f(ratio(nc, nh), 2):>7} {f(tc, 3):>11} {f(th, 3):>11} "
          f"{f(ratio(theirs, ours), 2):>10}")
        summary.setdefault("taesd", []).append({"part": name, "nchw_ms": nc, "nhwc_ms": nh, "torch_nchw_ms": tc,
                                                "torch_nhwc_ms": th})

    # end-to-end img2img
    p("")
    p(f"{'img2img sd-turbo 512x512 TAESD':<40} {'ms/frame':>9} {'fps':>7}  breakdown (per frame)")
    img_rows = sorted(((dict(k[1]).get("steps", 0), dict(k[1]).get("fb", 1), dict(k[1]).get("graphs", 0),
                        dict(k[1]).get("nhwc", 1)), v)
                      for k, v in rows.items() if k[0] == "BM_Img2Img")
    for (steps_n, fb, graphs_on, nhwc_on), b in img_rows:
        ms = num(b, "ms")
        label = (f"{steps_n} step(s), {'graphs' if graphs_on else 'eager'}{'' if nhwc_on else ', TAESD NCHW'}"
                 f"{f', frame buffer {fb}' if fb > 1 else ''}")
        p(f"{label:<40} {f(ms, 2):>9} {f(1000.0 / ms if ms else None, 1):>7}  {b.get('label', '')}")
        summary.setdefault("img2img", []).append({"steps": steps_n, "fb": fb, "graphs": graphs_on, "ms": ms,
                                                  "note": b.get("label", "")})
    if not img_rows:
        p("  (no results)")
    p("ratios are speed, ours relative to the reference (its time / ours, or our TF/s / its TF/s): > 1 = ours faster")

    # what went wrong
    errors = []
    for name, step in steps.items():
        if step["rc"] != 0:
            errors.append(f"step {name}: {status_of(step)} after {step['seconds']} s")
    for (prefix, params), b in sorted(rows.items()):
        if b.get("error_occurred"):
            errors.append(f"{prefix} {dict(params)}: {b.get('error_message', '')[:300]}")
        elif "NON-FINITE" in b.get("label", ""):
            errors.append(f"{prefix} {dict(params)}: {b['label']}")
    for section in ("gemm", "attention", "unet"):
        for r in torch_ref.get(section, []):
            for k in ("error", "eager_error", "graph_error"):
                if k in r and not str(r[k]).startswith("skipped"):
                    where = {x: r[x] for x in ("M", "N", "K", "B", "H", "Sk", "causal", "batch") if x in r}
                    errors.append(f"torch {section} {where}: {str(r[k])[:300]}")
    seen = set()
    errors = [e for e in errors if not (e in seen or seen.add(e))]
    summary["errors"] = errors
    if errors:
        p("")
        p("problems:")
        for e in errors[:25]:
            p(f"  {e}")
        if len(errors) > 25:
            p(f"  ... {len(errors) - 25} more in summary.json")
    print("\n".join(lines))
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    with open(os.path.join(out, "summary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
