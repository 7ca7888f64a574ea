#!/usr/bin/env python3
"""LLaVA-OneVision at llava-onevision-qwen2-0.5b-ov-hf's shapes, random
weights, ours (bench_vlm) vs transformers on PyTorch (CPU, float32, its
default attention), same threads, in the same run, each side its own process:
vision ms per frame (get_video_features + the newline, FRAMES frames at 384
px), prefill tokens/s (the spliced prompt, last logits only) and decode
tokens/s (greedy, one token a step through the KV cache). Prints a Markdown
table with ours/transformers ratios (above 1: ours faster).

    /work/venv-qwen/bin/python tests/bench/engine/compare_vlm.py --build build/bench-rel [--threads 2] [--frames 2]
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
NAME = "llava-onevision-qwen2-0.5b-ov-hf"
CONFIG = os.path.join(ROOT, "tests", "golden", "manifests", "config", NAME, "config.json")
MANIFEST = os.path.join(ROOT, "tests", "golden", "manifests", NAME + ".txt")


def torch_side(args):
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    torch.manual_seed(4321)
    config = transformers.LlavaOnevisionConfig.from_pretrained(os.path.dirname(CONFIG))
    model = transformers.LlavaOnevisionForConditionalGeneration(config).eval().float()
    side = config.vision_config.image_size
    pixels = torch.randn(1, args.frames, 3, side, side) * 0.5
    tokens_per_frame = ((side // config.vision_config.patch_size + 1) // 2) ** 2
    placeholders = args.frames * tokens_per_frame + 1
    ids = [1000 + i for i in range(5)] + [config.video_token_index] * placeholders + \
          [2000 + 7 * i for i in range(5, args.text_tokens)]
    ids = torch.tensor([ids])
    inner = model.model
    vision = prefill = decode = float("inf")
    with torch.no_grad():
        for _ in range(args.repeats):
            start = time.perf_counter()
            vf = inner.get_video_features(pixels, vision_feature_layer=config.vision_feature_layer,
                                          vision_feature_select_strategy=config.vision_feature_select_strategy)
            vf = torch.cat([vf[0], inner.image_newline[None]], 0)
            vision = min(vision, time.perf_counter() - start)
        embeds = inner.get_input_embeddings()(ids)
        mask = (ids == config.video_token_index)[..., None].expand_as(embeds)
        embeds = embeds.masked_scatter(mask, vf)
        for _ in range(args.repeats):
            cache = transformers.DynamicCache()
            start = time.perf_counter()
            out = model(inputs_embeds=embeds, past_key_values=cache, use_cache=True, logits_to_keep=1)
            prefill = min(prefill, time.perf_counter() - start)
            nxt = out.logits[0, -1].argmax()
            start = time.perf_counter()
            for _ in range(args.new_tokens - 1):
                out = model(input_ids=nxt.view(1, 1), past_key_values=cache, use_cache=True, logits_to_keep=1)
                nxt = out.logits[0, -1].argmax()
            decode = min(decode, time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "transformers", "frames": args.frames, "vision_ms_per_frame": vision * 1e3 / args.frames,
                      "prefill_tokens": ids.shape[1], "prefill_tokens_per_s": ids.shape[1] / prefill,
                      "decode_tokens": args.new_tokens, "decode_tokens_per_s": (args.new_tokens - 1) / decode,
                      "peak_rss_mib": round(rss), "torch": torch.__version__,
                      "transformers": transformers.__version__,
                      "attention": model.config._attn_implementation}))


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench-rel"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--text-tokens", type=int, default=24)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--torch-side", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_side:
        torch_side(args)
        return
    exe = os.path.join(args.build, "tests", "bench", "engine", "bench_vlm")
    if not os.path.exists(exe):
        sys.exit(f"{exe} not found: build the bench_vlm target (release) first")
    env = dict(os.environ, SC_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS="1")
    common = [str(args.frames), str(args.text_tokens), str(args.new_tokens), str(args.repeats)]
    ours = run([exe, CONFIG, MANIFEST] + common, env)
    theirs = run([sys.executable, __file__, "--torch-side", "--threads", str(args.threads), "--repeats",
                  str(args.repeats), "--frames", str(args.frames), "--text-tokens", str(args.text_tokens),
                  "--new-tokens", str(args.new_tokens)], env)
    print(json.dumps(ours), file=sys.stderr)
    print(json.dumps(theirs), file=sys.stderr)
    print(f"| {NAME}, {args.frames} frames, {args.threads} threads | ours | transformers | ours/transformers speed |")
    print("|---|---|---|---|")
    v_o, v_t = ours["vision_ms_per_frame"], theirs["vision_ms_per_frame"]
    print(f"| vision ms per frame | {v_o:.0f} | {v_t:.0f} | {v_t / v_o:.2f} |")
    for key, label in (("prefill_tokens_per_s", f"prefill tokens/s ({ours['prefill_tokens']} tokens)"),
                       ("decode_tokens_per_s", f"decode tokens/s ({ours['decode_tokens']} tokens)")):
        print(f"| {label} | {ours[key]:.1f} | {theirs[key]:.1f} | {ours[key] / theirs[key]:.2f} |")
    print(f"| peak RSS MiB | {ours['peak_rss_mib']:.0f} | {theirs['peak_rss_mib']} | |")


if __name__ == "__main__":
    main()
