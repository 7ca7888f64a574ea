#!/usr/bin/env python3
"""Golden fixtures and tensor manifests for the diffusion models.

manifests: tests/golden/manifests/<family>_<component>.txt, one line per tensor
    "<name> <dtype> <d0,d1,...>" (sorted by name), made by instantiating the
    reference class (diffusers / transformers) from the real full-size config in
    ../shared/reference/ on the meta device: no weights, no download.

fixtures: tests/golden/fixtures/diffusion_<model>/ in the real folder layout
    (config.json + diffusion_pytorch_model.safetensors or model.safetensors)
    with seeded random weights at a tiny config, plus io.safetensors holding the
    inputs and the reference outputs (computed in float32 on the CPU).

Run (CI never does; it reads the committed files):
    /root/venv-golden/bin/python tests/golden/gen_diffusion.py [manifests] [fixtures]
"""

import json
import os
import shutil
import sys

import diffusers
import numpy
import safetensors
import torch
import transformers
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "reference"))
SEED = 20261127
MAX_FILE_BYTES = 2 * 1000 * 1000

DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def versions():
    return {
        "generator": "tests/golden/gen_diffusion.py",
        "seed": str(SEED),
        "torch_version": torch.__version__,
        "diffusers_version": diffusers.__version__,
        "transformers_version": transformers.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": numpy.__version__,
    }


def load_json(path):
    with open(path) as f:
        return json.load(f)


def build(kind, config):
    if kind == "unet":
        return diffusers.UNet2DConditionModel.from_config(config)
    if kind == "vae":
        return diffusers.AutoencoderKL.from_config(config)
    if kind == "taesd":
        return diffusers.AutoencoderTiny.from_config(config)
    if kind == "text_encoder":
        cfg = transformers.CLIPTextConfig(**{k: v for k, v in config.items() if not k.startswith("_")})
        return transformers.CLIPTextModel(cfg)
    raise ValueError(kind)


def published_state(model):
    # transformers 5 drops CLIPTextModel's "text_model." wrapper and renames
    # keys at load; the files users download (and older transformers) keep it.
    state = model.state_dict()
    if isinstance(model, transformers.CLIPTextModel):
        state = {f"text_model.{k}": v for k, v in state.items()}
    return state


def write_manifest(path, model):
    lines = []
    for name, t in sorted(published_state(model).items()):
        lines.append(f"{name} {DTYPE_NAMES[t.dtype]} {','.join(str(d) for d in t.shape)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{path}: {len(lines)} tensors, {sum(p.numel() for p in model.state_dict().values())} parameters")


def manifests():
    out = os.path.join(HERE, "manifests")
    os.makedirs(out, exist_ok=True)
    jobs = [("sd15", "unet"), ("sd15", "text_encoder"), ("sd15", "vae"),
            ("sd-turbo", "unet"), ("sd-turbo", "text_encoder"), ("sd-turbo", "vae")]
    for family, component in jobs:
        config = load_json(os.path.join(REFERENCE, family, f"{component}.config.json"))
        with torch.device("meta"):
            model = build(component, config)
        write_manifest(os.path.join(out, f"{family}_{component}.txt"), model)
    config = load_json(os.path.join(REFERENCE, "taesd", "config.json"))
    with torch.device("meta"):
        model = build("taesd", config)
    write_manifest(os.path.join(out, "taesd.txt"), model)
    # The configs travel with the manifests, so the C++ tests need no ../shared.
    for family in ("sd15", "sd-turbo", "taesd"):
        os.makedirs(os.path.join(out, "config", family), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(REFERENCE, family))):
            shutil.copyfile(os.path.join(REFERENCE, family, name), os.path.join(out, "config", family, name))
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(versions(), f, indent=1, sort_keys=True)
        f.write("\n")


def randomize(model, gen):
    # Default inits leave many tensors at exactly 0 or 1 (norms, biases, zero
    # convs); seeded noise everywhere makes every weight matter to the output.
    with torch.no_grad():
        for name, p in sorted(model.state_dict().items()):
            if not p.is_floating_point():
                continue
            fan = p[0].numel() if p.dim() > 1 else 1
            std = 1.0 / max(1.0, fan) ** 0.5
            if p.dim() == 1:
                base = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(std * torch.randn(p.shape, generator=gen))


def save_component(folder, model, weights_name, config):
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in published_state(model).items()}
    path = os.path.join(folder, weights_name)
    save_file(state, path, metadata={"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1, sort_keys=True)
        f.write("\n")
    check_size(path)


def save_io(folder, tensors, extra=None):
    meta = versions()
    if extra:
        meta.update({k: json.dumps(v) for k, v in extra.items()})
    path = os.path.join(folder, "io.safetensors")
    save_file({k: v.detach().contiguous().float().clone() for k, v in tensors.items()}, path, metadata=meta)
    check_size(path)


def check_size(path):
    size = os.path.getsize(path)
    print(f"{path}: {size} bytes")
    if size > MAX_FILE_BYTES:
        sys.exit(f"{path} is {size} bytes; fixtures must stay under {MAX_FILE_BYTES}")


def taesd_fixture(out):
    gen = torch.Generator().manual_seed(SEED)
    config = {"_class_name": "AutoencoderTiny", "act_fn": "relu", "in_channels": 3, "out_channels": 3,
              "encoder_block_out_channels": [16, 16, 16, 16], "decoder_block_out_channels": [16, 16, 16, 16],
              "num_encoder_blocks": [1, 2, 2, 2], "num_decoder_blocks": [2, 2, 2, 1], "latent_channels": 4,
              "latent_magnitude": 3, "latent_shift": 0.5, "upsampling_scaling_factor": 2,
              "upsample_fn": "nearest", "scaling_factor": 1.0, "shift_factor": 0.0, "force_upcast": False}
    model = diffusers.AutoencoderTiny.from_config(config).eval()
    randomize(model, gen)
    folder = os.path.join(out, "diffusion_taesd")
    save_component(folder, model, "diffusion_pytorch_model.safetensors", config)
    image = torch.rand((1, 3, 64, 48), generator=gen) * 2 - 1
    latent = torch.randn((1, 4, 8, 6), generator=gen)
    with torch.no_grad():
        enc = model.encoder(image)
        dec = model.decoder(latent)
    save_io(folder, {"image": image, "encoded": enc, "latent": latent, "decoded": dec})

    # The fp16 variant as published (*.fp16.safetensors): the reference runs
    # the f16-rounded weights in f32, which is what the engine's CPU does.
    folder16 = os.path.join(out, "diffusion_taesd_fp16")
    os.makedirs(folder16, exist_ok=True)
    half = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    save_file(half, os.path.join(folder16, "diffusion_pytorch_model.fp16.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(folder16, "config.json"), "w") as f:
        json.dump(config, f, indent=1, sort_keys=True)
        f.write("\n")
    model.load_state_dict({k: v.float() for k, v in half.items()})
    with torch.no_grad():
        dec16 = model.decoder(latent)
    save_io(folder16, {"latent": latent, "decoded": dec16})


def clip_fixture(out, act, name):
    gen = torch.Generator().manual_seed(SEED + len(name))
    cfg = transformers.CLIPTextConfig(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, max_position_embeddings=77, hidden_act=act,
                                      layer_norm_eps=1e-5, projection_dim=16)
    model = transformers.CLIPTextModel(cfg).eval()
    randomize(model, gen)
    folder = os.path.join(out, name)
    config = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_")}
    config["architectures"] = ["CLIPTextModel"]
    save_component(folder, model, "model.safetensors", config)
    ids = torch.randint(0, 1000, (2, 77), generator=gen)
    with torch.no_grad():
        hidden = model(ids).last_hidden_state
    save_io(folder, {"ids": ids.float(), "hidden": hidden})


def clip_quick_fixture(out):
    clip_fixture(out, "quick_gelu", "diffusion_clip_text_quick_gelu")


def clip_gelu_fixture(out):
    clip_fixture(out, "gelu", "diffusion_clip_text_gelu")


def vae_fixture(out):
    gen = torch.Generator().manual_seed(SEED + 5)
    config = {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [16, 32],
              "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
              "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "in_channels": 3, "out_channels": 3,
              "latent_channels": 4, "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 32,
              "scaling_factor": 0.18215}
    model = diffusers.AutoencoderKL.from_config(config).eval()
    randomize(model, gen)
    folder = os.path.join(out, "diffusion_vae")
    save_component(folder, model, "diffusion_pytorch_model.safetensors", config)
    image = torch.rand((2, 3, 24, 32), generator=gen) * 2 - 1
    latent = torch.randn((1, 4, 12, 10), generator=gen)
    with torch.no_grad():
        dist = model.encode(image).latent_dist
        dec = model.decode(latent).sample
    save_io(folder, {"image": image, "mean": dist.mean, "logvar": dist.logvar, "latent": latent, "decoded": dec})


def unet_fixture(out, name, config, size, timesteps):
    gen = torch.Generator().manual_seed(SEED + len(name))
    model = diffusers.UNet2DConditionModel.from_config(config).eval()
    randomize(model, gen)
    folder = os.path.join(out, name)
    save_component(folder, model, "diffusion_pytorch_model.safetensors", config)
    sample = torch.randn((2, config["in_channels"], size[0], size[1]), generator=gen)
    context = torch.randn((2, 7, config["cross_attention_dim"]), generator=gen)
    t = torch.tensor(timesteps, dtype=torch.float32)
    with torch.no_grad():
        result = model(sample, t, encoder_hidden_states=context).sample
    save_io(folder, {"sample": sample, "timesteps": t, "context": context, "out": result})


def unet_sd15_fixture(out):
    # SD 1.5's shape of config: one int "attention_head_dim" (a head count for
    # every block), conv projections, quick cross-attention width.
    config = {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 4,
              "block_out_channels": [16, 32], "center_input_sample": False, "cross_attention_dim": 24,
              "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1,
              "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
              "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 8, "out_channels": 4,
              "sample_size": 16, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}
    unet_fixture(out, "diffusion_unet_sd15", config, (16, 12), [999.0, 261.5])


def unet_sd_turbo_fixture(out):
    # sd-turbo's shape of config: per-block head counts, linear projections.
    config = {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": [2, 4, 4],
              "block_out_channels": [16, 32, 32], "center_input_sample": False, "cross_attention_dim": 24,
              "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
              "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
              "layers_per_block": 1, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 8,
              "out_channels": 4, "sample_size": 16, "upcast_attention": True, "use_linear_projection": True,
              "num_attention_heads": None,
              "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}
    unet_fixture(out, "diffusion_unet_sd_turbo", config, (16, 8), [999.0, 0.0])


def bytes_to_unicode():
    # GPT-2 / CLIP byte-level alphabet: printable bytes map to themselves, the
    # rest to code points from 256 up.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, [chr(c) for c in chars]))


PROMPTS = [
    "a photo of a cat",
    "A Photo Of A Cat",
    "",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "an astronaut riding a horse on mars, highly detailed, 8k, trending on artstation",
    "portrait of a woman, oil painting by John Singer Sargent",
    "cyberpunk city at night, neon lights, rain, reflections",
    "it's a dog's life, isn't it? we'll see, they've said, i'm sure you'd agree",
    "IT'S LOUD'S",
    "numbers 0123456789 and 3.14159 and 1,000,000 and 2024-11-27",
    "1st 2nd 3rd 4th 100%",
    "punctuation!!! ??? ... --- (brackets) [square] {curly} <angle>",
    "email@example.com http://example.com/path?query=1&b=2",
    "emoji \U0001F600\U0001F525\U0001F3A8 fire art",
    "\U0001F44D\U0001F3FD thumbs up with skin tone",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber stra\u00dfe",
    "\u00c9COLE \u00c0 PARIS",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u0437\u0438\u043c\u043e\u0439",
    "\u03b1\u03b2\u03b3 \u0394\u0395\u0396 greek",
    "\u6771\u4eac\u306e\u591c\u666f tokyo at night",
    "\uc11c\uc6b8 korean \ud55c\uae00",
    "\u0645\u0631\u062d\u0628\u0627 arabic",
    "mixed123letters and abc123def",
    "under_score and hyphen-ated and slash/separated",
    "quotes \"double\" and 'single' and \u201ccurly\u201d",
    "masterpiece, best quality, (detailed:1.2), [background]",
    "a a a a a a a a a a",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "$100 \u20ac50 \u00a330 \u00a51000",
    "temperature 25\u00b0C",
    "math: 2+2=4, x^2, a*b/c",
    "#hashtag @mention",
    "ellipsis\u2026 and em\u2014dash",
    "non\u00a0breaking space",
    "zero\u200bwidth space",
    "a watercolor painting of a fox in a snowy forest",
    "studio ghibli style landscape with rolling hills",
    "macro photograph of a dewdrop on a leaf, bokeh",
    "low poly 3d render of a lighthouse",
    "pixel art of a castle, 16-bit",
    "line art, black and white, minimalist",
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX",
    "x",
    "!",
    "...",
    "'s",
    "don't stop believin'",
    "rock'n'roll",
    "semi;colon:colon",
    "over long " + " ".join(f"word{i}" for i in range(100)),
    "very " * 80 + "long prompt",
    "a photo of a cat <|endoftext|> and a dog",
]


def tokenizer_fixture(out):
    import gzip

    import importlib.metadata
    import importlib.util
    # Only the data file is needed; importing open_clip would pull torchvision.
    spec = importlib.util.find_spec("open_clip")
    open_clip_dir = os.path.dirname(spec.origin)
    open_clip_version = importlib.metadata.version("open_clip_torch")
    folder = os.path.join(out, "diffusion_tokenizer")
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(open_clip_dir, "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(source).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    byte_chars = list(bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    for name in ("vocab.json", "merges.txt"):
        check_size(os.path.join(folder, name))
    tensors = {}
    for family, pad in (("sd15", "<|endoftext|>"), ("sd_turbo", "!")):
        tok = transformers.CLIPTokenizer.from_pretrained(folder, pad_token=pad, model_max_length=77)
        ids = tok(PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        assert ids[0, 0].item() == 49406 and tok.convert_tokens_to_ids("<|endoftext|>") == 49407
        tensors[f"{family}_ids"] = ids.to(torch.int64)
    save_file(tensors, os.path.join(folder, "ids.safetensors"),
              metadata={**versions(), "prompts": json.dumps(PROMPTS, ensure_ascii=False),
                        "tokenizer": "transformers.CLIPTokenizer (tokenizers backend: NFC, \\s+ -> ' ', lowercase)",
                        "bpe_source": "open_clip_torch " + open_clip_version + " bpe_simple_vocab_16e6.txt.gz"})
    print(tensors["sd15_ids"][0, :8].tolist(), tensors["sd_turbo_ids"][0, :8].tolist())


def fixtures():
    out = os.path.join(HERE, "fixtures")
    torch.set_num_threads(2)
    what = sys.argv[2:] if len(sys.argv) > 2 else ["taesd", "clip_quick", "clip_gelu", "vae", "unet_sd15", "unet_sd_turbo", "tokenizer"]
    for name in what:
        globals()[f"{name}_fixture"](out)


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    if len(sys.argv) < 2 or sys.argv[1] == "manifests":
        manifests()
    if len(sys.argv) < 2 or sys.argv[1] == "fixtures":
        fixtures()
