#!/usr/bin/env python3
"""Golden fixtures for the StreamDiffusion pipeline (engine/pipelines/).

stream_lcm_scheduler.safetensors: diffusers' LCMScheduler values (the
    50-step schedule and other step counts, alphas_cumprod, c_skip / c_out).
stream_diffusion/<mode>.safetensors: a reference of the StreamDiffusion
    algorithm (stream batch, residual CFG, latent buffer shifting) written
    here from the paper and the reference implementation, run on diffusers'
    own components at the tiny configs of gen_diffusion.py (the committed
    fixtures/diffusion_unet_sd15 and fixtures/diffusion_taesd folders), for a
    short sequence of 64x64 frames in each cfg mode.
stream_diffusion/<self|initialize>_ramp.safetensors: the residual modes
    with the guidance raised live (1 for the first frames, then 1.6): the
    residual noise follows the cfg mode whatever the guidance.
stream_diffusion/none_1step.safetensors: one step at t_index 0, cfg none
    (sd-turbo's path: no latent buffer, every frame shown at once).
stream_diffusion_fb2/<mode>.safetensors: the same with a frame buffer of 2
    (two 32x32 frames per call; UNet batch = steps x 2, rows step-major). The initial noise and the
    prompt embeddings are saved with the inputs, so the C++ side does not have
    to reproduce torch's RNG.

Run (CI never does; it reads the committed files):
    /root/venv-golden/bin/python tests/golden/gen_stream_diffusion.py
"""

import json
import os
import sys

import diffusers
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_diffusion  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
SEED = gen_diffusion.SEED + 7
T_INDEX_LIST = [18, 32]
ONE_STEP = [0]  # sd-turbo's single step, from the noisiest timestep
GUIDANCE = 1.6
DELTA = 0.7
FRAMES = 5
RAMP_AT = 3  # ramp fixtures: guidance 1 before this frame, GUIDANCE from it
SIZE = (64, 64)


def versions():
    meta = gen_diffusion.versions()
    meta["generator"] = "tests/golden/gen_stream_diffusion.py"
    meta["seed"] = str(SEED)
    return meta


def scheduler_fixture():
    s = diffusers.LCMScheduler()
    tensors = {"alphas_cumprod": s.alphas_cumprod.clone()}
    for n in (50, 4, 7, 1):
        s.set_timesteps(n)
        tensors[f"timesteps_{n}"] = s.timesteps.to(torch.int64).clone()
    s.set_timesteps(50)
    c = [s.get_scalings_for_boundary_condition_discrete(int(t)) for t in s.timesteps]
    tensors["c_skip_50"] = torch.tensor([x[0] for x in c], dtype=torch.float64).float()
    tensors["c_out_50"] = torch.tensor([x[1] for x in c], dtype=torch.float64).float()
    # One diffusers step at the last timestep of a 4-step schedule (no noise
    # is added there) checks the denoised formula itself.
    s.set_timesteps(4)
    gen = torch.Generator().manual_seed(SEED)
    sample = torch.randn((1, 4, 3, 5), generator=gen)
    eps = torch.randn((1, 4, 3, 5), generator=gen)
    t = int(s.timesteps[-1])
    s._step_index = 3
    denoised = s.step(eps, t, sample).denoised
    tensors.update({"step_sample": sample, "step_eps": eps, "step_t": torch.tensor([t]), "step_denoised": denoised})
    path = os.path.join(FIXTURES, "stream_lcm_scheduler.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=versions())
    gen_diffusion.check_size(path)
    print("timesteps_50", tensors["timesteps_50"][:5].tolist(), "timesteps_4", tensors["timesteps_4"].tolist())


class StreamReference:
    """The StreamDiffusion img2img step for frame_buffer_size f frames per
    call. Rows are step-major: row s * f + j is frame j at step s, so every
    per-step quantity is repeated f times, the buffer holds (n - 1) f latents
    and everything shifts by f rows per call. With f = 1 this is the
    reference implementation's single-frame stream."""

    def __init__(self, unet, taesd, cond, uncond, init_noise, cfg, guidance, delta, f=1, t_index_list=None):
        self.unet, self.taesd = unet, taesd
        self.sched = diffusers.LCMScheduler()
        self.sched.set_timesteps(50)
        ts = [int(self.sched.timesteps[i]) for i in (t_index_list or T_INDEX_LIST)]
        n = len(ts)

        def rows(v):  # per step -> per row
            return v.repeat_interleave(f, dim=0)

        self.t_list = rows(torch.tensor(ts, dtype=torch.float32))
        ac = self.sched.alphas_cumprod
        self.alpha = rows(torch.stack([ac[t].sqrt() for t in ts]).view(n, 1, 1, 1))
        self.beta = rows(torch.stack([(1 - ac[t]).sqrt() for t in ts]).view(n, 1, 1, 1))
        cs = [self.sched.get_scalings_for_boundary_condition_discrete(t) for t in ts]
        self.c_skip = rows(torch.tensor([c[0] for c in cs], dtype=torch.float32).view(n, 1, 1, 1))
        self.c_out = rows(torch.tensor([c[1] for c in cs], dtype=torch.float32).view(n, 1, 1, 1))
        self.n, self.f, self.cfg, self.guidance, self.delta = n, f, cfg, guidance, delta
        assert init_noise.shape[0] == n * f
        self.init_noise = init_noise
        self.stock_noise = torch.zeros_like(init_noise)
        self.buffer = torch.zeros(((n - 1) * f,) + tuple(init_noise.shape[1:]))
        self.cond, self.uncond = cond.repeat(n * f, 1, 1), uncond
        self.unet_rows = 0

    def step_batch(self, eps, x):
        x0 = (x - self.beta * eps) / self.alpha
        return self.c_out * x0 + self.c_skip * x

    def unet_step(self, x):
        # Guidance <= 1 needs no unconditional prediction (the guidance may
        # change between frames: the studio's live parameter).
        cfg = self.cfg if self.guidance > 1.0 else "none"
        t, f = self.t_list, self.f
        embeds = self.cond
        if cfg == "initialize":
            xin, t = torch.cat([x[0:f], x]), torch.cat([t[0:f], t])
            embeds = torch.cat([self.uncond.repeat(f, 1, 1), self.cond])
        elif cfg == "full":
            xin, t = torch.cat([x, x]), torch.cat([t, t])
            embeds = torch.cat([self.uncond.repeat(self.cond.shape[0], 1, 1), self.cond])
        else:
            xin = x
        self.unet_rows += xin.shape[0]
        pred = self.unet(xin, t, encoder_hidden_states=embeds).sample
        if cfg == "initialize":
            text = pred[f:]
            self.stock_noise = torch.cat([pred[0:f], self.stock_noise[f:]])
        elif cfg == "full":
            uncond, text = pred.chunk(2)
        else:
            text = pred
        if cfg in ("self", "initialize"):
            uncond = self.stock_noise * self.delta
        eps = uncond + self.guidance * (text - uncond) if cfg != "none" else text
        denoised = self.step_batch(eps, x)
        # As StreamDiffusion's unet_step: the residual noise follows the cfg
        # mode, whatever the guidance (so it is ready when guidance rises).
        if self.cfg in ("self", "initialize"):
            delta_x = self.step_batch(eps, self.beta * self.stock_noise)
            ones = torch.ones_like(self.alpha[0:f])
            delta_x = torch.cat([self.alpha[f:], ones]) * delta_x / torch.cat([self.beta[f:], ones])
            self.stock_noise = torch.cat([self.init_noise[f:], self.init_noise[0:f]]) + delta_x
        return denoised

    def __call__(self, image):
        f = self.f
        latent = self.taesd.encoder(image) * self.taesd.config.scaling_factor
        x = self.alpha[0:f] * latent + self.beta[0:f] * self.init_noise[0:f]
        if self.n > 1:
            x = torch.cat([x, self.buffer])
            self.stock_noise = torch.cat([self.init_noise[0:f], self.stock_noise[:-f]])
        x0 = self.unet_step(x)
        if self.n > 1:
            out = x0[-f:]
            self.buffer = self.alpha[f:] * x0[:-f] + self.beta[f:] * self.init_noise[f:]
        else:
            out = x0
        self.last_latent = out
        image = self.taesd.decoder(out / self.taesd.config.scaling_factor)
        return (image / 2 + 0.5).clamp(0, 1)


def frames(gen, size=SIZE, count=FRAMES):
    # A moving smooth pattern: consecutive frames are similar, as video is.
    ys = torch.linspace(-1, 1, size[0]).view(1, 1, -1, 1)
    xs = torch.linspace(-1, 1, size[1]).view(1, 1, 1, -1)
    phase = torch.rand((1, 3, 1, 1), generator=gen) * 6
    out = []
    for f in range(count):
        img = torch.sin(3 * xs + 2 * ys + phase + 0.4 * f) * torch.cos(2 * ys - xs + 0.3 * f)
        out.append(img.clamp(-1, 1))
    return torch.cat(out)


def pipeline_fixture(fb=1, seed=SEED, size=SIZE, count=FRAMES, folder_name="stream_diffusion", ramp=False,
                     one_step=False):
    """One file per cfg mode. ramp: the residual modes only, with guidance 1
    (no guidance) for the first RAMP_AT frames and GUIDANCE from then on, as
    a user raising it live does (files <cfg>_ramp.safetensors). one_step: cfg
    none with a single step at t_index 0 (sd-turbo's path: no latent buffer,
    no warm-up; file none_1step.safetensors)."""
    t_index_list = ONE_STEP if one_step else T_INDEX_LIST
    unet = diffusers.UNet2DConditionModel.from_pretrained(os.path.join(FIXTURES, "diffusion_unet_sd15")).eval()
    taesd = diffusers.AutoencoderTiny.from_pretrained(os.path.join(FIXTURES, "diffusion_taesd")).eval()
    gen = torch.Generator().manual_seed(seed)
    images = frames(gen, size, count)
    n = len(t_index_list)
    latent_shape = (n * fb, 4, size[0] // 8, size[1] // 8)
    init_noise = torch.randn(latent_shape, generator=gen)
    cond = torch.randn((1, 7, unet.config.cross_attention_dim), generator=gen)
    uncond = torch.randn((1, 7, unet.config.cross_attention_dim), generator=gen)
    folder = os.path.join(FIXTURES, folder_name)
    os.makedirs(folder, exist_ok=True)
    modes = ("self", "initialize") if ramp else ("none",) if one_step else ("none", "full", "self", "initialize")
    for cfg in modes:
        ref = StreamReference(unet, taesd, cond, uncond, init_noise, cfg, GUIDANCE, DELTA, fb, t_index_list)
        with torch.no_grad():
            outs, latents = [], []
            for f in range(0, count, fb):
                if ramp:
                    ref.guidance = 1.0 if f < RAMP_AT else GUIDANCE
                outs.append(ref(images[f:f + fb]))
                latents.append(ref.last_latent)
            outs, latents = torch.cat(outs), torch.cat(latents)
        rows = ref.unet_rows // count
        suffix = "_ramp" if ramp else "_1step" if one_step else ""
        path = os.path.join(folder, f"{cfg}{suffix}.safetensors")
        tensors = {"images": images, "init_noise": init_noise, "cond": cond, "uncond": uncond, "outputs": outs,
                   "latents": latents}
        meta = versions()
        meta.update({"cfg": cfg, "t_index_list": json.dumps(t_index_list), "guidance": str(GUIDANCE),
                     "delta": str(DELTA), "unet_rows_per_frame": str(rows), "frame_buffer_size": str(fb)})
        if ramp:
            meta["guidance_from_frame"] = str(RAMP_AT)
        save_file({k: v.contiguous().float() for k, v in tensors.items()}, path, metadata=meta)
        gen_diffusion.check_size(path)
        print(cfg, "unet rows per frame", rows, "output mean", outs.mean().item())


def pipeline_folder_fixture():
    """fixtures/stream_pipeline: the parts of a tiny diffusers pipeline folder
    that the other fixtures cannot supply (a text encoder with CLIP's full
    49408-token vocabulary, so real prompts tokenize, and a UNet whose
    cross-attention width matches it). Tests add tokenizer/ (diffusion_tokenizer),
    vae/ (diffusion_vae) and TAESD (diffusion_taesd) by copying."""
    gen = torch.Generator().manual_seed(SEED + 1)
    folder = os.path.join(FIXTURES, "stream_pipeline")
    os.makedirs(folder, exist_ok=True)
    te_config = {"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 8,
                 "intermediate_size": 16, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
                 "model_type": "clip_text_model", "num_attention_heads": 2, "num_hidden_layers": 1,
                 "vocab_size": 49408, "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1,
                 "projection_dim": 8, "torch_dtype": "float32"}
    te = gen_diffusion.build("text_encoder", te_config).eval()
    gen_diffusion.randomize(te, gen)
    gen_diffusion.save_component(os.path.join(folder, "text_encoder"), te, "model.safetensors", te_config)
    unet_config = {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 4,
                   "block_out_channels": [16, 32], "center_input_sample": False, "cross_attention_dim": 8,
                   "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1,
                   "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 1,
                   "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 8, "out_channels": 4,
                   "sample_size": 8, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}
    unet = diffusers.UNet2DConditionModel.from_config(unet_config).eval()
    gen_diffusion.randomize(unet, gen)
    gen_diffusion.save_component(os.path.join(folder, "unet"), unet, "diffusion_pytorch_model.safetensors",
                                 unet_config)
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": diffusers.__version__,
             "scheduler": ["diffusers", "LCMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"]}
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    scheduler_fixture()
    pipeline_fixture()
    pipeline_fixture(ramp=True)
    pipeline_fixture(one_step=True)
    pipeline_fixture(fb=2, seed=SEED + 2, size=(32, 32), count=6, folder_name="stream_diffusion_fb2")
    pipeline_folder_fixture()
