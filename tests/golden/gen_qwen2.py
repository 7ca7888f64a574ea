#!/usr/bin/env python3
"""Golden fixtures and the full-size tensor manifest for the Qwen2 language model.

fixtures: tests/golden/fixtures/qwen2_<variant>/ in the layouts users download
    (config.json + model.safetensors, weights stored as BF16 like the published
    checkpoints), tiny configs with seeded random weights, plus io.safetensors
    with the inputs and transformers' reference outputs (float32, CPU, eager
    attention; the reference runs the BF16-rounded weights in float32, which is
    what the engine's CPU does after converting them):
    - qwen2_tiny: Qwen2ForCausalLM, separate lm_head. io: a 12-token prompt and
      the logits of every position; the 8-token greedy continuation
      (transformers' generate, checked against a greedy loop without a cache),
      with the top-1 / top-2 logit gap of each step; the logits of an
      incremental decode (prefill 7, then 5 one-token steps through
      DynamicCache); logits of 6 tokens at positions 100, 101, 102, 110, 111,
      130; logits of 5
      random input embeddings.
    - qwen2_tiny_tied: tie_word_embeddings, no lm_head tensor in the file (as
      save_pretrained writes it). io: prompt logits and greedy continuation.
    - qwen2_tiny_llava: qwen2_tiny's weights under the names llava-hf's
      LLaVA-OneVision checkpoints use (language_model.model.*,
      language_model.lm_head.weight) with a LlavaOnevisionConfig config.json
      (the Qwen2 config nested as text_config); the language model's tensors
      only. Its outputs are qwen2_tiny's.

manifests: tests/golden/manifests/qwen2-0.5b.txt, every tensor name, dtype and
    shape of Qwen/Qwen2-0.5B's model.safetensors, from Qwen2ForCausalLM built on
    the meta device from manifests/config/qwen2-0.5b/config.json (no weights);
    the tied lm_head is left out, as save_pretrained leaves it out.

Run (CI never does; it reads the committed files):
    /work/venv-qwen/bin/python tests/golden/gen_qwen2.py [fixtures] [manifests]
"""

import json
import os
import sys

import numpy
import safetensors
import torch
import transformers
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261128
MAX_TOTAL_BYTES = 1000 * 1000
PROMPT_TOKENS = 12
NEW_TOKENS = 8
PREFILL = 7

DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def versions():
    return {
        "generator": "tests/golden/gen_qwen2.py",
        "seed": str(SEED),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": numpy.__version__,
    }


def tiny_config(tie):
    # Not the defaults: a rope theta and eps a loader that ignored them would
    # get wrong, GQA (2 query heads per KV head), head_dim from hidden / heads.
    return transformers.Qwen2Config(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                    rope_theta=50000.0, rms_norm_eps=1e-5, tie_word_embeddings=tie,
                                    bos_token_id=None, eos_token_id=None, architectures=["Qwen2ForCausalLM"])


def randomize(model, gen):
    # Default inits (std 0.02, norms at 1, zero biases) give near-uniform
    # logits; seeded noise with fan-in scaling makes every weight matter and
    # keeps the greedy choices well separated.
    with torch.no_grad():
        for name, p in sorted(model.state_dict().items()):
            fan = p[0].numel() if p.dim() > 1 else 1
            if p.dim() == 1:
                base = 1.0 if "norm" in name else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / max(1.0, fan) ** 0.5)


def build(tie, seed):
    torch.manual_seed(seed)
    config = tiny_config(tie)
    config._attn_implementation = "eager"
    model = transformers.Qwen2ForCausalLM(config).eval()
    randomize(model, torch.Generator().manual_seed(seed))
    # Published Qwen2 weights are BF16: store them so, and run the reference on
    # exactly the rounded values.
    state = {}
    for k, v in model.state_dict().items():
        if tie and k == "lm_head.weight":
            continue  # tied: the same tensor as model.embed_tokens.weight; save_pretrained drops it
        state[k] = v.detach().to(torch.bfloat16).contiguous().clone()
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if tie:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model, state


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def save_folder(folder, state, config_json):
    os.makedirs(folder, exist_ok=True)
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    # Read back with the reference reader before keeping it.
    back = load_file(os.path.join(folder, "model.safetensors"))
    assert sorted(back) == sorted(state) and all(torch.equal(back[k], state[k]) for k in state)
    write_json(os.path.join(folder, "config.json"), config_json)


def qwen2_config_json(model):
    # What save_pretrained writes: the values that differ from Qwen2Config's
    # defaults, plus model_type, architectures and transformers_version.
    return json.loads(model.config.to_json_string(use_diff=True))


def greedy_without_cache(model, ids, steps):
    out, gaps = [], []
    seq = ids.clone()
    with torch.no_grad():
        for _ in range(steps):
            logits = model(seq, use_cache=False).logits[0, -1]
            top = torch.topk(logits, 2).values
            gaps.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
    return out, gaps


def reference_io(model, gen, extended):
    ids = torch.randint(0, model.config.vocab_size, (1, PROMPT_TOKENS), generator=gen)
    io = {"ids": ids}
    meta = {}
    with torch.no_grad():
        io["logits"] = model(ids, use_cache=False).logits
        generated = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1,
                                   eos_token_id=None, pad_token_id=0)[0, PROMPT_TOKENS:].tolist()
    loop, gaps = greedy_without_cache(model, ids, NEW_TOKENS)
    assert generated == loop, (generated, loop)
    # The engine must reproduce these ids exactly: each choice must be clear of
    # float32 noise (relative L2 ~1e-6 of logits of magnitude ~10).
    assert min(gaps) > 1e-3, gaps
    io["greedy_ids"] = torch.tensor(generated, dtype=torch.int64)
    io["greedy_gaps"] = torch.tensor(gaps)
    meta["greedy_min_gap"] = min(gaps)
    if not extended:
        return io, meta
    with torch.no_grad():
        # Incremental decode through transformers' own cache.
        cache = transformers.DynamicCache()
        out = model(ids[:, :PREFILL], past_key_values=cache, use_cache=True)
        rows = [out.logits[0]]
        for i in range(PREFILL, PROMPT_TOKENS):
            out = model(ids[:, i:i + 1], past_key_values=cache, use_cache=True)
            rows.append(out.logits[0])
        io["incremental_logits"] = torch.cat(rows, dim=0)[None]
        err = float((io["incremental_logits"] - io["logits"]).norm() / io["logits"].norm())
        assert err < 1e-5, err
        meta["incremental_vs_full_rel_l2"] = err
        # Explicit positions with gaps (rotary attention sees only position
        # differences, so a plain offset would not show whether they are used).
        positions = torch.tensor([[100, 101, 102, 110, 111, 130]])
        io["shifted_positions"] = positions[0]
        io["shifted_logits"] = model(ids[:, :6], position_ids=positions, use_cache=False).logits
        # Input embeddings instead of ids (the VLM splices image features in).
        embeds = torch.randn((1, 5, model.config.hidden_size), generator=gen) / model.config.hidden_size ** 0.5
        io["embeds"] = embeds
        io["embeds_logits"] = model(inputs_embeds=embeds, use_cache=False).logits
    return io, meta


def save_io(folder, io, meta):
    tensors = {k: (v.detach().float() if v.is_floating_point() else v.to(torch.int64)).contiguous().clone()
               for k, v in io.items()}
    md = versions()
    md.update({k: json.dumps(v) for k, v in meta.items()})
    save_file(tensors, os.path.join(folder, "io.safetensors"), metadata=md)


def llava_fixture(out, plain_model, plain_state):
    # llava-hf's published LLaVA-OneVision checkpoints keep the language model
    # as language_model.model.* and language_model.lm_head.weight;
    # transformers >= 4.52 renames them at load (and writes
    # model.language_model.* / lm_head.weight when saving).
    text = qwen2_config_json(plain_model)
    text.pop("architectures", None)
    text.pop("transformers_version", None)
    vision = transformers.SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                             num_attention_heads=2, image_size=32, patch_size=8)
    config = transformers.LlavaOnevisionConfig(text_config=text, vision_config=vision.to_dict(),
                                               image_token_index=500, video_token_index=501,
                                               image_grid_pinpoints=[[32, 32], [32, 64]],
                                               architectures=["LlavaOnevisionForConditionalGeneration"])
    config_json = json.loads(config.to_json_string(use_diff=True))
    assert config_json["text_config"]["hidden_size"] == 64
    renamed = {}
    for k, v in plain_state.items():
        renamed[("language_model." + k) if k.startswith("model.") or k == "lm_head.weight" else k] = v
    # The names must be what LlavaOnevisionForConditionalGeneration loads:
    # each maps through its conversion table onto one of its parameters.
    import re
    cls = transformers.LlavaOnevisionForConditionalGeneration
    with torch.device("meta"):
        meta_model = cls(config)
    params = set(meta_model.state_dict())
    for k in renamed:
        mapped = k
        for pattern, repl in cls._checkpoint_conversion_mapping.items():
            mapped = re.sub(pattern, repl, mapped)
        assert mapped in params, (k, mapped)
    save_folder(os.path.join(out, "qwen2_tiny_llava"), renamed, config_json)


def fixtures():
    out = os.path.join(HERE, "fixtures")
    torch.set_num_threads(2)
    plain, plain_state = build(False, SEED)
    folder = os.path.join(out, "qwen2_tiny")
    save_folder(folder, plain_state, qwen2_config_json(plain))
    io, meta = reference_io(plain, torch.Generator().manual_seed(SEED + 1), True)
    save_io(folder, io, meta)
    print("qwen2_tiny greedy", io["greedy_ids"].tolist(), meta)

    tied, tied_state = build(True, SEED + 2)
    folder = os.path.join(out, "qwen2_tiny_tied")
    assert "lm_head.weight" not in tied_state
    save_folder(folder, tied_state, qwen2_config_json(tied))
    io, meta = reference_io(tied, torch.Generator().manual_seed(SEED + 3), False)
    save_io(folder, io, meta)
    print("qwen2_tiny_tied greedy", io["greedy_ids"].tolist(), meta)

    llava_fixture(out, plain, plain_state)

    total = 0
    for name in ("qwen2_tiny", "qwen2_tiny_tied", "qwen2_tiny_llava"):
        for f in sorted(os.listdir(os.path.join(out, name))):
            size = os.path.getsize(os.path.join(out, name, f))
            total += size
            print(f"{name}/{f}: {size} bytes")
    print(f"total {total} bytes")
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"the Qwen2 fixtures are {total} bytes; they must stay under {MAX_TOTAL_BYTES}")


def manifests():
    out = os.path.join(HERE, "manifests")
    with open(os.path.join(out, "config", "qwen2-0.5b", "config.json")) as f:
        config = transformers.Qwen2Config(**json.load(f))
    with torch.device("meta"):
        model = transformers.Qwen2ForCausalLM(config)
    lines = []
    for name, t in sorted(model.state_dict().items()):
        if config.tie_word_embeddings and name == "lm_head.weight":
            continue
        # The published file is BF16 (config torch_dtype); the meta model is F32.
        lines.append(f"{name} BF16 {','.join(str(d) for d in t.shape)}")
    path = os.path.join(out, "qwen2-0.5b.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    params = sum(t.numel() for n, t in model.state_dict().items() if n != "lm_head.weight" or not config.tie_word_embeddings)
    print(f"{path}: {len(lines)} tensors, {params} parameters")


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    what = sys.argv[1:] or ["fixtures", "manifests"]
    if "fixtures" in what:
        fixtures()
    if "manifests" in what:
        manifests()
