#!/usr/bin/env python3
"""PyTorch's numbers for what bench_engine_cuda times, on the same GPU, timed
the same way, so tests/device/run.sh can print ours / theirs:

  - F.scaled_dot_product_attention, fp16, at exactly bench_engine_cuda's
    attention shapes (ATTENTION_SHAPES);
  - torch.matmul(x, w.T), fp16, at its GEMM shapes (x [M, K], w [N, K]);
  - diffusers' UNet2DConditionModel from the sd-turbo config
    (tests/golden/manifests/config/sd-turbo/unet.config.json), random init,
    fp16, 512x512 (latents 64x64), context [N, 77, 1024], batch 1/2/4: eager
    under torch.inference_mode, and replayed from a torch.cuda.CUDAGraph.

Timing, as in bench_engine_cuda: CUDA events around a sample of `inner`
back-to-back calls after 3 warm-up calls (inner picked so a sample lasts
>= 2 ms; 1 for the UNet), median over samples of the time per call.

Writes JSON (after every section, so a timeout keeps what was measured) to
--out, default $SC_DEVICE_OUT or $OUT/device or /tmp/device, file
torch_reference.json. diffusers is optional: without it the UNet rows carry
the import error. The GPU machine has no diffusers; tests/device/run.sh
installs the wheels carried in .whl/ first.

    python3 tests/device/torch_reference.py [--out FILE] [--skip-unet]
    python3 tests/device/torch_reference.py --cpu-smoke   # tiny shapes on the CPU: proves the script runs
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
UNET_CONFIG = os.path.join(ROOT, "tests", "golden", "manifests", "config", "sd-turbo", "unet.config.json")

# Keep in step with tests/bench/engine_cuda/engine_cuda_bench.cpp.
# (B, H, Sq, Sk, D, causal); causal only where Sq == Sk (top-left and
# bottom-right alignment agree there).
ATTENTION_SHAPES = [(b, h, 4096, sk, 64, causal)
                    for b in (1, 2) for h in (8, 16) for sk, causal in ((4096, 0), (4096, 1), (77, 0))]
GEMM_SHAPES = [(4096, 4096, 4096), (4096, 320, 1280), (8192, 640, 640)]  # M, N, K
UNET_BATCHES = (1, 2, 4)
UNET_SIZE = 512
WARMUP = 3
SAMPLE_MS = 2.0
MAX_INNER = 100


def default_out():
    base = os.environ.get("SC_DEVICE_OUT") or (os.path.join(os.environ["OUT"], "device") if os.environ.get("OUT")
                                               else "/tmp/device")
    return os.path.join(base, "torch_reference.json")


class Clock:
    """Elapsed milliseconds of fn(): CUDA events on the GPU, wall time on the CPU."""

    def __init__(self, torch, device):
        self.torch = torch
        self.cuda = device == "cuda"

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def ms(self, fn):
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            stop = self.torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3


def time_calls(clock, fn, samples, calibrate=True):
    """Median ms per call and the inner count used."""
    for _ in range(WARMUP):
        fn()
    clock.sync()
    inner = 1
    if calibrate:
        one = max(1e-3, clock.ms(fn))
        inner = min(MAX_INNER, max(1, math.ceil(SAMPLE_MS / one)))

    def sample():
        for _ in range(inner):
            fn()

    per_call = [clock.ms(sample) / inner for _ in range(samples)]
    return statistics.median(per_call), inner


def attention_section(torch, clock, device, dtype, shapes, samples):
    import torch.nn.functional as F
    rows = []
    for b, h, sq, sk, d, causal in shapes:
        row = {"B": b, "H": h, "Sq": sq, "Sk": sk, "D": d, "causal": causal}
        try:
            q = torch.randn(b, h, sq, d, device=device, dtype=dtype)
            k = torch.randn(b, h, sk, d, device=device, dtype=dtype)
            v = torch.randn(b, h, sk, d, device=device, dtype=dtype)
            ms, inner = time_calls(clock, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal)),
                                   samples)
            flops = 4.0 * b * h * sq * sk * d * (0.5 if causal else 1.0)
            row.update(ms=ms, tflops=flops / (ms * 1e-3) / 1e12, inner=inner)
            del q, k, v
        except Exception as e:  # a shape that fails must not lose the others
            row["error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
        print(f"attention {row}", flush=True)
    return rows


def gemm_section(torch, clock, device, dtype, shapes, samples):
    rows = []
    for m, n, k in shapes:
        row = {"M": m, "N": n, "K": k}
        try:
            x = torch.randn(m, k, device=device, dtype=dtype)
            w = torch.randn(n, k, device=device, dtype=dtype) * 0.05
            ms, inner = time_calls(clock, lambda: torch.matmul(x, w.t()), samples)
            row.update(ms=ms, tflops=2.0 * m * n * k / (ms * 1e-3) / 1e12, inner=inner)
            del x, w
        except Exception as e:
            row["error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
        print(f"gemm {row}", flush=True)
    return rows


def unet_section(torch, clock, device, dtype, config, size, batches, samples, graphs, meta, rows, save):
    """Appends one row per batch to rows, calling save() after each."""
    try:
        import diffusers
    except Exception as e:
        err = f"diffusers not importable: {type(e).__name__}: {e}"
        print(err, flush=True)
        rows.extend({"batch": b, "size": size, "error": err} for b in batches)
        return
    meta["diffusers"] = diffusers.__version__
    t0 = time.perf_counter()
    with torch.device(device):  # random init directly on the GPU: 865M parameters
        model = diffusers.UNet2DConditionModel.from_config(config)
    model = model.to(dtype=dtype).eval()
    clock.sync()
    meta["unet_init_s"] = round(time.perf_counter() - t0, 2)
    meta["unet_parameters"] = sum(p.numel() for p in model.parameters())
    meta["unet_attention_processor"] = type(next(iter(model.attn_processors.values()))).__name__
    latent = size // 8
    for b in batches:
        row = {"batch": b, "size": size}
        sample = torch.randn(b, config["in_channels"], latent, latent, device=device, dtype=dtype)
        t = torch.full((b,), 999.0, device=device)
        ctx = torch.randn(b, 77, config["cross_attention_dim"], device=device, dtype=dtype)

        def forward():
            return model(sample, t, encoder_hidden_states=ctx, return_dict=False)[0]

        try:
            row["eager_ms"], _ = time_calls(clock, forward, samples, calibrate=False)
            out = forward()
            row["eager_mean_abs_out"] = float(out.float().abs().mean())
            del out
        except Exception as e:
            row["eager_error"] = f"{type(e).__name__}: {e}"
        if not graphs:
            row["graph_error"] = "skipped (no CUDA)"
        elif "eager_ms" in row:
            graph = None
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(3):
                        forward()
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    static_out = forward()
                row["graph_ms"], _ = time_calls(clock, graph.replay, samples, calibrate=False)
                row["graph_mean_abs_out"] = float(static_out.float().abs().mean())
                del static_out
            except Exception as e:
                row["graph_error"] = f"{type(e).__name__}: {e}"
            del graph
        del sample, t, ctx
        if device == "cuda":
            row["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            torch.cuda.empty_cache()
        rows.append(row)
        save()
        print(f"unet {row}", flush=True)


def taesd_section(torch, clock, device, dtype, size, samples):
    """diffusers' AutoencoderTiny (TAESD's published config), random init:
    encoder at size x size and decoder from size / 8, channels-first and
    channels_last, cudnn.benchmark on (PyTorch's counterpart of our timed
    algorithm choice)."""
    try:
        import diffusers
    except Exception as e:
        return [{"error": f"diffusers not importable: {type(e).__name__}: {e}"}]
    rows = []
    was = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        model = diffusers.AutoencoderTiny().to(device=device, dtype=dtype).eval()
        image = torch.rand(1, 3, size, size, device=device, dtype=dtype) * 2 - 1
        latent = torch.randn(1, 4, size // 8, size // 8, device=device, dtype=dtype)
        for layout in ("nchw", "nhwc"):
            fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
            model = model.to(memory_format=fmt)
            x, z = image.contiguous(memory_format=fmt), latent.contiguous(memory_format=fmt)
            for part, fn in (("encoder", lambda: model.encoder(x)), ("decoder", lambda: model.decoder(z))):
                row = {"part": part, "layout": layout, "size": size}
                try:
                    row["ms"], _ = time_calls(clock, fn, samples)
                except Exception as e:
                    row["error"] = f"{type(e).__name__}: {e}"
                rows.append(row)
                print(f"taesd {row}", flush=True)
    except Exception as e:
        rows.append({"error": f"{type(e).__name__}: {e}"})
    finally:
        torch.backends.cudnn.benchmark = was
    return rows


def print_table(result):
    print(f"\n== torch reference ({result['meta'].get('device_name')}, torch {result['meta'].get('torch')}, "
          f"diffusers {result['meta'].get('diffusers', '-')})")

    def f(row, key):
        return f"{row[key]:.3f}" if key in row else "-"

    for r in result.get("gemm", []):
        print(f"matmul {r['M']}x{r['N']}x{r['K']:<14} ms {f(r, 'ms'):>8}  TFLOP/s {f(r, 'tflops'):>8} "
              f"{r.get('error', '')}")
    for r in result.get("attention", []):
        what = f"B{r['B']} H{r['H']} Sq{r['Sq']} Sk{r['Sk']} D{r['D']}{' causal' if r['causal'] else ''}"
        print(f"sdpa {what:<32} ms {f(r, 'ms'):>8}  TFLOP/s {f(r, 'tflops'):>8} {r.get('error', '')}")
    for r in result.get("taesd", []):
        print(f"taesd {r.get('part', '?')} {r.get('layout', '?')}: ms {f(r, 'ms'):>8} {r.get('error', '')}")
    for r in result.get("unet", []):
        errs = " ".join(r[k] for k in ("error", "eager_error", "graph_error") if k in r)
        print(f"unet {r['size']}x{r['size']} batch {r['batch']}: eager ms {f(r, 'eager_ms'):>8}  "
              f"graph ms {f(r, 'graph_ms'):>8} {errs}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None)
    ap.add_argument("--cpu-smoke", action="store_true", help="tiny shapes and a tiny UNet on the CPU, f32")
    ap.add_argument("--skip-unet", action="store_true")
    ap.add_argument("--samples", type=int, default=30, help="samples per op (the UNet takes half, at least 5)")
    args = ap.parse_args()
    out_path = args.out or default_out()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)

    import torch
    with open(UNET_CONFIG) as f:
        config = json.load(f)
    meta = {"torch": torch.__version__, "python": sys.version.split()[0],
            "timing": "CUDA events, median of per-call time over samples of back-to-back calls after 3 warm-ups"}
    if args.cpu_smoke:
        device, dtype = "cpu", torch.float32
        attention_shapes = [(1, 2, 128, 128, 64, 0), (1, 2, 128, 128, 64, 1), (1, 2, 128, 77, 64, 0)]
        gemm_shapes = [(128, 96, 64)]
        config = dict(config, block_out_channels=[32, 64, 64, 64], attention_head_dim=[2, 2, 4, 4],
                      cross_attention_dim=32, layers_per_block=1, norm_num_groups=8)
        size, batches, samples = 64, (1, 2), 2
        meta["device_name"] = "cpu (smoke test: tiny shapes, f32)"
    else:
        if not torch.cuda.is_available():
            sys.exit("torch_reference: no CUDA device (use --cpu-smoke to test the script on a CPU)")
        device, dtype = "cuda", torch.float16
        attention_shapes, gemm_shapes = ATTENTION_SHAPES, GEMM_SHAPES
        size, batches, samples = UNET_SIZE, UNET_BATCHES, args.samples
        meta["device_name"] = torch.cuda.get_device_name()
        meta["cuda"] = torch.version.cuda
        meta["cudnn"] = torch.backends.cudnn.version()
        meta["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        meta["matmul_fp16_reduced_precision_reduction"] = torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction
        meta["sdpa_enabled"] = {name: getattr(torch.backends.cuda, f"{name}_sdp_enabled", lambda: None)()
                                for name in ("flash", "mem_efficient", "cudnn", "math")}
    torch.manual_seed(1234)
    clock = Clock(torch, device)
    result = {"meta": meta}

    def save():
        with open(out_path, "w") as f:
            json.dump(result, f, indent=1)

    with torch.inference_mode():
        result["gemm"] = gemm_section(torch, clock, device, dtype, gemm_shapes, samples)
        save()
        result["attention"] = attention_section(torch, clock, device, dtype, attention_shapes, samples)
        save()
        result["taesd"] = taesd_section(torch, clock, device, dtype, 64 if args.cpu_smoke else 512, samples)
        save()
        if not args.skip_unet:
            result["unet"] = []
            unet_section(torch, clock, device, dtype, config, size, batches,
                         max(5, samples // 2) if not args.cpu_smoke else samples, device == "cuda", meta,
                         result["unet"], save)
            save()
    print_table(result)
    print(f"torch_reference: wrote {out_path}")


if __name__ == "__main__":
    main()
