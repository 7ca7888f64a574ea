#!/usr/bin/env python3
"""Golden fixture for LLaVA-OneVision's video path (engine/models/llava_onevision).

fixtures/llava_onevision_tiny/: a complete LlavaOnevisionForConditionalGeneration
    at a tiny random configuration of the real architecture, as save_pretrained
    writes it with transformers 4.57.6 (config.json, model.safetensors with BF16
    weights like the published checkpoints, video_preprocessor_config.json),
    plus io.safetensors: transformers' reference, float32 on the CPU, eager
    attention, on the BF16-rounded weights:
    - frames (u8 [3, 38, 50, 3], a synthetic RGB clip) and pixel_values
      (LlavaOnevisionVideoProcessor's pixel_values_videos[0]: antialiased
      bicubic to 42 x 42, fused rescale + normalise);
    - resize/<case>/{in,out}: torch's uint8 antialiased bicubic (what the
      processor calls) up, down and on one axis only;
    - tower_features (SigLIP hidden_states[-1], the feature layer),
      tower_layer1 (hidden_states[1]), projected (the projector on them),
      pooled (apply_pooling), video_features (get_video_features + the one
      image_newline row);
    - ids (a prompt with the clip's 13 <video> placeholders), logits (every
      position, from pixel_values), greedy_ids (16 tokens of generate,
      do_sample False, checked against a loop without a cache) and their
      top-1 / top-2 gaps.
    The vision tower keeps SigLIP's attention-pooling head (vision_use_head
    unset, as in transformers' own tiny configs): its weights must be accepted
    and ignored.
    For `streamcanvas-cli vlm` end to end, the folder is also what
    LlavaOnevisionProcessor.save_pretrained writes: a byte-level BPE tokenizer
    in Qwen2's pipeline (315 tokens trained by `tokenizers` on
    gen_bpe_tokenizer.py's text, then <|endoftext|>, <|im_start|>,
    <|im_end|>, <image>, <video> at 315..319), tokenizer_config.json,
    chat_template (the template transformers' convert_llava_onevision_weights_to_hf.py
    gives the published llava-hf checkpoints), processor_config.json and the
    image processor's preprocessor_config.json; clip.mkv holds 6 frames
    losslessly (FFV1, RGB); cli.json the question, the frames sampled, the
    prompt the chat template renders, the ids, and the greedy answer
    (<|im_end|> stops it) with its text.

manifests/llava-onevision-qwen2-{0.5b,7b}-ov-hf.txt: every tensor name, dtype
    and shape of llava-hf/llava-onevision-qwen2-{0.5b,7b}-ov-hf as
    save_pretrained writes them (the llava-hf layout), from
    LlavaOnevisionForConditionalGeneration built on the meta device from
    manifests/config/llava-onevision-qwen2-*-ov-hf/config.json. Those configs
    are what transformers' convert_llava_onevision_weights_to_hf.py builds for
    the published checkpoints (the hub's config.json could not be downloaded
    here): Qwen2-{0.5B,7B}-Instruct's text config with the vocabulary grown by
    <image> and <video> and padded to a multiple of 64 (151936 -> 152000,
    152064 -> 152128), SigLIP so400m cut to 26 layers without its head, F16
    (the script casts every tensor to float16). A tied lm_head (0.5B) is left
    out, as save_pretrained leaves it out.

Run (CI never does; it reads the committed files):
    /work/venv-qwen/bin/python tests/golden/gen_llava_onevision.py [fixtures] [manifests]
with torch 2.5.1 (CPU), torchvision 0.20.1, transformers 4.57.6.
"""

import json
import os
import sys
import tempfile

import numpy
import safetensors
import torch
import torch.nn.functional as F
import torchvision
import transformers
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, "fixtures", "llava_onevision_tiny")
SEED = 20261207
NEW_TOKENS = 16
FRAMES = 3
MAX_TOTAL_BYTES = 600 * 1000
VIDEO_TOKEN = 319
IMAGE_TOKEN = 318


def config():
    text = transformers.Qwen2Config(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                    rope_theta=50000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                                    bos_token_id=None, eos_token_id=None)
    # 42 / 14 = 3 patches a side: an odd grid, like the real 27, so the
    # pooling's ceil(side / 2) and half-pixel bilinear taps are exercised.
    vision = transformers.SiglipVisionConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                             num_attention_heads=2, image_size=42, patch_size=14,
                                             layer_norm_eps=1e-6)
    c = transformers.LlavaOnevisionConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                                          image_token_index=IMAGE_TOKEN, video_token_index=VIDEO_TOKEN,
                                          image_grid_pinpoints=[[42, 42], [42, 84]],
                                          vision_feature_layer=-1, vision_feature_select_strategy="full",
                                          architectures=["LlavaOnevisionForConditionalGeneration"])
    c._attn_implementation = "eager"
    c.text_config._attn_implementation = "eager"
    c.vision_config._attn_implementation = "eager"
    return c


def randomize(model, gen):
    # Seeded noise with fan-in scaling, norms around 1: every weight matters
    # and the greedy choices stay well separated.
    with torch.no_grad():
        for name, p in sorted(model.state_dict().items()):
            if p.dim() == 0 or not p.is_floating_point():
                continue
            if p.dim() == 1:
                base = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
                scale = 0.5 if name.endswith("image_newline") else 0.1
                p.copy_(base + scale * torch.randn(p.shape, generator=gen))
            else:
                fan = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / max(1.0, fan) ** 0.5)


def synthetic_clip(gen, count=FRAMES):
    # Smooth gradients plus noise: resizing must average real structure.
    h, w = 38, 50
    y = torch.linspace(0, 1, h)[:, None, None]
    x = torch.linspace(0, 1, w)[None, :, None]
    frames = []
    for f in range(count):
        base = torch.cat([255 * x * (1 - y) + 20 * f, 255 * y.expand(h, w, 1) * 0.8, (255 * (1 - x) * 0.6 + 30 * f).expand(h, w, 1)], 2)
        noise = 40 * torch.randn((h, w, 3), generator=gen)
        frames.append((base + noise).clamp(0, 255).round().to(torch.uint8))
    return torch.stack(frames)  # [F, H, W, 3]


def resize_cases(gen):
    cases = {}
    for name, (h, w, oh, ow) in {"down": (57, 71, 20, 24), "up": (9, 13, 42, 42), "width_only": (16, 40, 16, 17),
                                  "mixed": (30, 11, 12, 29)}.items():
        img = torch.randint(0, 256, (h, w, 3), generator=gen, dtype=torch.uint8)
        out = F.interpolate(img.permute(2, 0, 1)[None], size=(oh, ow), mode="bicubic", align_corners=False,
                            antialias=True)[0].permute(1, 2, 0)
        cases[f"resize/{name}/in"] = img.contiguous()
        cases[f"resize/{name}/out"] = out.contiguous()
    return cases


def greedy_without_cache(model, ids, pixels, steps):
    out, gaps = [], []
    seq = ids.clone()
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=seq, pixel_values_videos=pixels, use_cache=False).logits[0, -1]
            top = torch.topk(logits, 2).values
            gaps.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
    return out, gaps


# convert_llava_onevision_weights_to_hf.py's chat_template, saved with the
# published llava-hf LLaVA-OneVision checkpoints.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}{# Render all images first #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}{{'<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CLIP_FRAMES = 6
CLI_FRAMES = 3
CLI_NEW_TOKENS = 12
QUESTION = "What happens in this clip? Réponds en une phrase."


def tiny_tokenizer():
    import gen_bpe_tokenizer as bpe
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    bpe.qwen2_pipeline(tok)
    trainer = trainers.BpeTrainer(vocab_size=315, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(bpe.training_lines(), trainer=trainer)
    assert tok.get_vocab_size() == 315, tok.get_vocab_size()
    for content in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"):
        tok.add_special_tokens([AddedToken(content, special=True, normalized=False)])
    assert tok.token_to_id("<video>") == VIDEO_TOKEN and tok.token_to_id("<image>") == IMAGE_TOKEN
    j = bpe.qwen2_json(tok)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(j)),
                                                eos_token="<|im_end|>", pad_token="<|endoftext|>")


def sample_indices(count, n):
    # The engine's rule (app/modes/video_qa): n frames spread evenly from the
    # first to the last, rounded half up, in integers.
    if n >= count:
        return list(range(count))
    if n == 1:
        return [(count - 1) // 2]
    return [(2 * i * (count - 1) + (n - 1)) // (2 * (n - 1)) for i in range(n)]


def write_clip(frames, path):
    import subprocess

    f, h, w, _ = frames.shape
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-r", "10", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", path],
                   input=frames.numpy().tobytes(), check=True)
    back = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          capture_output=True, check=True).stdout
    assert back == frames.numpy().tobytes(), "the clip must store its frames losslessly"


def cli_reference(model, gen):
    tokenizer = tiny_tokenizer()
    video_processor = transformers.LlavaOnevisionVideoProcessor.from_pretrained(OUT)
    image_processor = transformers.LlavaOnevisionImageProcessor(size={"height": 42, "width": 42},
                                                                image_grid_pinpoints=[[42, 42], [42, 84]])
    processor = transformers.LlavaOnevisionProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                                     video_processor=video_processor, num_image_tokens=9,
                                                     vision_feature_select_strategy="full",
                                                     chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(OUT)
    processor = transformers.LlavaOnevisionProcessor.from_pretrained(OUT)
    clip = synthetic_clip(gen, CLIP_FRAMES)
    write_clip(clip, os.path.join(OUT, "clip.mkv"))
    indices = sample_indices(CLIP_FRAMES, CLI_FRAMES)
    conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": QUESTION}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    inputs = processor(text=prompt, videos=[clip[indices].numpy()], return_tensors="pt")
    inputs.pop("token_type_ids", None)
    ids = inputs["input_ids"]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=CLI_NEW_TOKENS, do_sample=False, num_beams=1,
                             eos_token_id=end, pad_token_id=tokenizer.pad_token_id)[0, ids.shape[1]:].tolist()
        loop, gaps = greedy_without_cache(model, ids, inputs["pixel_values_videos"], len(out))
    assert out == loop, (out, loop)
    assert min(gaps) > 1e-3, gaps
    answer = out[:-1] if out and out[-1] == end else out
    ref = {"question": QUESTION, "clip_frames": CLIP_FRAMES, "frames": CLI_FRAMES, "indices": indices,
           "prompt": prompt, "input_ids": ids[0].tolist(), "answer_ids": answer,
           "stopped_at_im_end": bool(out and out[-1] == end), "max_new_tokens": CLI_NEW_TOKENS,
           "answer": tokenizer.decode(answer, skip_special_tokens=True), "greedy_min_gap": min(gaps)}
    with open(os.path.join(OUT, "cli.json"), "w") as f:
        json.dump(ref, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print("cli answer", repr(ref["answer"]), answer, "stopped", ref["stopped_at_im_end"])


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(SEED)
    cfg = config()
    model = transformers.LlavaOnevisionForConditionalGeneration(cfg).eval()
    randomize(model, gen)
    os.makedirs(OUT, exist_ok=True)
    # save_pretrained writes the checkpoint layout (it reverses the load-time
    # key conversion); keep its config.json and re-save its tensors as BF16.
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        saved = load_file(os.path.join(tmp, "model.safetensors"))
        with open(os.path.join(tmp, "config.json")) as f:
            config_json = json.load(f)
    state = {k: v.to(torch.bfloat16).contiguous().clone() for k, v in saved.items()}
    assert "image_newline" in state and "language_model.model.embed_tokens.weight" in state, sorted(state)[:8]
    assert any(k.startswith("vision_tower.vision_model.head.") for k in state)
    save_file(state, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    back = load_file(os.path.join(OUT, "model.safetensors"))
    assert sorted(back) == sorted(state) and all(torch.equal(back[k], state[k]) for k in state)
    config_json.pop("torch_dtype", None)
    config_json.pop("dtype", None)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config_json, f, indent=2, sort_keys=True)
        f.write("\n")
    # The reference runs on exactly the stored values.
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(OUT, dtype=torch.float32,
                                                                                attn_implementation="eager").eval()

    processor = transformers.LlavaOnevisionVideoProcessor(size={"height": 42, "width": 42}, image_mean=[0.5, 0.4, 0.3],
                                                          image_std=[0.25, 0.5, 0.75])
    processor.save_pretrained(OUT)
    assert os.path.exists(os.path.join(OUT, "video_preprocessor_config.json"))
    processor = transformers.LlavaOnevisionVideoProcessor.from_pretrained(OUT)

    io = {}
    frames = synthetic_clip(gen)
    io["frames"] = frames
    pixels = processor(videos=[frames.numpy()], return_tensors="pt")["pixel_values_videos"]
    assert pixels.shape == (1, FRAMES, 3, 42, 42), pixels.shape
    io["pixel_values"] = pixels[0]
    io.update(resize_cases(gen))

    inner = model.model
    with torch.no_grad():
        hs = inner.vision_tower(pixels[0], output_hidden_states=True).hidden_states
        io["tower_features"] = hs[-1]
        io["tower_layer1"] = hs[1]
        io["projected"] = inner.multi_modal_projector(hs[-1])
        io["pooled"] = inner.apply_pooling(io["projected"])
        vf = inner.get_video_features(pixels, vision_feature_layer=-1, vision_feature_select_strategy="full")
        assert torch.equal(vf[0], io["pooled"].reshape(-1, vf.shape[-1]))
        io["video_features"] = torch.cat([vf[0], inner.image_newline[None]], 0)

    placeholders = FRAMES * 4 + 1
    before = torch.randint(0, 300, (5,), generator=gen)
    after = torch.randint(0, 300, (4,), generator=gen)
    ids = torch.cat([before, torch.full((placeholders,), VIDEO_TOKEN), after])[None]
    io["ids"] = ids[0]
    with torch.no_grad():
        io["logits"] = model(input_ids=ids, pixel_values_videos=pixels, use_cache=False).logits
        generated = model.generate(input_ids=ids, pixel_values_videos=pixels, max_new_tokens=NEW_TOKENS,
                                   do_sample=False, num_beams=1, eos_token_id=None,
                                   pad_token_id=0)[0, ids.shape[1]:].tolist()
    loop, gaps = greedy_without_cache(model, ids, pixels, NEW_TOKENS)
    assert generated == loop, (generated, loop)
    assert min(gaps) > 1e-3, gaps
    io["greedy_ids"] = torch.tensor(generated, dtype=torch.int64)
    io["greedy_gaps"] = torch.tensor(gaps)

    tensors = {}
    for k, v in io.items():
        v = v.detach()
        if v.dtype == torch.uint8:
            tensors[k] = v.contiguous().clone()
        elif v.is_floating_point():
            tensors[k] = v.float().contiguous().clone()
        else:
            tensors[k] = v.to(torch.int64).contiguous().clone()
    meta = {"generator": "tests/golden/gen_llava_onevision.py", "seed": str(SEED), "torch_version": torch.__version__,
            "torchvision_version": torchvision.__version__, "transformers_version": transformers.__version__,
            "safetensors_version": safetensors.__version__, "numpy_version": numpy.__version__,
            "greedy_min_gap": json.dumps(min(gaps))}
    save_file(tensors, os.path.join(OUT, "io.safetensors"), metadata=meta)
    cli_reference(model, gen)
    print("greedy", generated, "min gap", min(gaps))
    total = 0
    for f in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, f))
        total += size
        print(f"{f}: {size} bytes")
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"the fixture is {total} bytes; it must stay under {MAX_TOTAL_BYTES}")


# The text configs of Qwen/Qwen2-0.5B-Instruct and Qwen/Qwen2-7B-Instruct
# (shape fields), vocabularies as the conversion script grows them.
QWEN2_INSTRUCT = {
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, max_position_embeddings=32768, max_window_layers=24, rope_theta=1000000.0,
                 rms_norm_eps=1e-6, sliding_window=32768, tie_word_embeddings=True, vocab_size=151936,
                 bos_token_id=151643, eos_token_id=151645),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, max_position_embeddings=32768, max_window_layers=28, rope_theta=1000000.0,
               rms_norm_eps=1e-6, sliding_window=131072, tie_word_embeddings=False, vocab_size=152064,
               bos_token_id=151643, eos_token_id=151645),
}


def checkpoint_name(name):
    # save_pretrained's reversal of LlavaOnevisionForConditionalGeneration's
    # _checkpoint_conversion_mapping (checked on the tiny fixture below).
    for new, old in (("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                     ("model.multi_modal_projector.", "multi_modal_projector."), ("model.image_newline", "image_newline")):
        if name.startswith(new):
            return old + name[len(new):]
    return "language_model.lm_head.weight" if name == "lm_head.weight" else name


def manifests():
    # The renaming must be save_pretrained's: check it on the tiny fixture.
    with torch.device("meta"):
        tiny = transformers.LlavaOnevisionForConditionalGeneration(config())
    saved = sorted(safetensors.safe_open(os.path.join(OUT, "model.safetensors"), "pt").keys())
    assert sorted(checkpoint_name(k) for k in tiny.state_dict()) == saved
    for size, text in QWEN2_INSTRUCT.items():
        text = dict(text)
        grown = text["vocab_size"] + 2
        text["vocab_size"] = (grown + 63) // 64 * 64
        text_config = transformers.Qwen2Config(**text, architectures=["Qwen2ForCausalLM"])
        vision = transformers.SiglipVisionConfig(hidden_size=1152, image_size=384, intermediate_size=4304,
                                                 num_attention_heads=16, num_hidden_layers=26, patch_size=14,
                                                 vision_use_head=False)
        c = transformers.LlavaOnevisionConfig(text_config=text_config.to_dict(), vision_config=vision.to_dict(),
                                              use_image_newline_parameter=True, image_token_index=151646,
                                              video_token_index=151647, torch_dtype="float16",
                                              architectures=["LlavaOnevisionForConditionalGeneration"])
        name = f"llava-onevision-qwen2-{size}-ov-hf"
        folder = os.path.join(HERE, "manifests", "config", name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(json.loads(c.to_json_string(use_diff=True)), f, indent=2, sort_keys=True)
            f.write("\n")
        with torch.device("meta"):
            model = transformers.LlavaOnevisionForConditionalGeneration(c)
        tied = text_config.tie_word_embeddings
        lines, params = [], 0
        for key, t in sorted((checkpoint_name(k), v) for k, v in model.state_dict().items()):
            if tied and key == "language_model.lm_head.weight":
                continue
            lines.append(f"{key} F16 {','.join(str(d) for d in t.shape)}")
            params += t.numel()
        path = os.path.join(HERE, "manifests", name + ".txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{path}: {len(lines)} tensors, {params} parameters")


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    what = sys.argv[1:] or ["fixtures", "manifests"]
    if "fixtures" in what:
        main()
    if "manifests" in what:
        manifests()
