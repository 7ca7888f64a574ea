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


def fixtures():
    out = os.path.join(HERE, "fixtures")
    torch.set_num_threads(2)
    what = sys.argv[2:] if len(sys.argv) > 2 else ["taesd", "clip_quick", "clip_gelu", "vae", "unet_sd15", "unet_sd_turbo"]
    for name in what:
        globals()[f"{name}_fixture"](out)


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    if len(sys.argv) < 2 or sys.argv[1] == "manifests":
        manifests()
    if len(sys.argv) < 2 or sys.argv[1] == "fixtures":
        fixtures()
