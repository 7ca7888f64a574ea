#!/usr/bin/env python3
"""Golden fixture for the engine's sampling (engine/llm/sampling.h).

fixtures/sampling.safetensors (< 100 kB), read by tests/engine/sampling_test.cpp
(test_engine_qwen2, label golden):

- cases: fixed logits (float32, seeded) and a context of ids (prompt +
  generated, with repeats), and what transformers' logits processors make of
  them, each applied to the previous one's output in the order
  GenerationMixin._get_logits_processor builds them for these options:
    <case>/logits, <case>/context
    <case>/repetition_penalty  RepetitionPenaltyLogitsProcessor(penalty)
    <case>/temperature         TemperatureLogitsWarper(temperature)
    <case>/top_k               TopKLogitsWarper(top_k, min_tokens_to_keep=1)
    <case>/top_p               TopPLogitsWarper(top_p, min_tokens_to_keep=1)
    <case>/processed           the LogitsProcessorList _get_logits_processor
                               returns for GenerationConfig(do_sample=True,
                               ...) (checked equal to the chain above; its
                               class names are in the metadata)
    <case>/probs               softmax(processed), what generate's
                               torch.multinomial draws from
  A stage whose option is off (penalty 1, temperature 1, top_k 0, top_p 1) is
  left out, as _get_logits_processor leaves it out. The options of each case
  are in the metadata ("cases"). Small vocabularies for the processors; two
  cases over 2,048 ids where the engine's sampler has to grow its candidate
  list (only processed and probs stored for them).
- penalty_greedy/*: qwen2_tiny (fixtures/qwen2_tiny, from gen_qwen2.py)
  decoding its 12-token prompt (prompt) greedily for 16 tokens with
  repetition_penalty 1.5 (ids_0) and 0.5 (ids_1), as transformers'
  generate(do_sample=False, repetition_penalty=...) does (checked against a
  plain loop without a cache; the smallest top-1 / top-2 gap of the
  penalised logits, gaps_<i>, must be far above float32 noise); both differ
  from the plain greedy ids (in the metadata), the first from the 9th token
  on, when the plain continuation starts repeating itself.

Ties: at the top-k boundary every id equal to the k-th value is kept (the case
top_k_ties). At the top-p boundary transformers' order among equal scores is
torch.sort's, which is not stable on the CPU; no case puts a tie there.

Run (CI never does; it reads the committed file):
    /work/venv-qwen/bin/python tests/golden/gen_sampling.py
"""

import json
import os
import sys

import numpy
import safetensors
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import GenerationConfig
from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "sampling.safetensors")
SEED = 20261203
MAX_BYTES = 100 * 1000
PENALTIES = (1.5, 0.5)
NEW_TOKENS = 16


def versions():
    return {
        "generator": "tests/golden/gen_sampling.py",
        "seed": str(SEED),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "safetensors_version": safetensors.__version__,
        "numpy_version": numpy.__version__,
    }


def case_list(gen):
    def randn(v, scale):
        return torch.randn(v, generator=gen) * scale

    def ctx(v, n):
        # Repeats on purpose: the penalty applies once per distinct id.
        ids = torch.randint(0, v, (n,), generator=gen)
        return torch.cat([ids, ids[: n // 3]])

    cases = []

    def add(name, logits, context, penalty=1.0, temperature=1.0, top_k=0, top_p=1.0, full=True):
        cases.append(dict(name=name, logits=logits.float(), context=context.long(), penalty=penalty,
                          temperature=temperature, top_k=top_k, top_p=top_p, full=full))

    v = 64
    add("penalty", randn(v, 3), ctx(v, 12), penalty=1.3)
    add("penalty_below_one", randn(v, 3), ctx(v, 12), penalty=0.7)
    add("temperature", randn(v, 3), ctx(v, 6), temperature=0.7)
    add("temperature_high", randn(v, 3), ctx(v, 6), temperature=1.8)
    add("top_k", randn(v, 3), ctx(v, 6), top_k=5)
    ties = randn(v, 1) - 5.0
    ties[[3, 17, 40]] = 2.5  # three ids tied at the 3rd value
    ties[[9, 30]] = 4.0
    add("top_k_ties", ties, ctx(v, 6), top_k=3)
    add("top_k_over_vocabulary", randn(v, 3), ctx(v, 6), top_k=100)
    add("top_p", randn(v, 3), ctx(v, 6), top_p=0.9)
    add("top_p_tiny", randn(v, 3), ctx(v, 6), top_p=0.01)
    masked = randn(v, 3)
    masked[torch.randperm(v, generator=gen)[:20]] = -float("inf")
    add("top_p_masked", masked, ctx(v, 6), top_p=0.8)
    add("all", randn(v, 3), ctx(v, 12), penalty=1.2, temperature=0.8, top_k=10, top_p=0.9)
    # The penalty moves the best ids out of the top-k set, so it must come first.
    peaked = randn(v, 2)
    best = torch.topk(peaked, 4).indices
    add("all_penalty_reorders", peaked, torch.cat([best, ctx(v, 4)]), penalty=1.8, temperature=1.3, top_k=4,
        top_p=0.7)
    # top-p renormalises over the top-k survivors.
    add("top_k_then_top_p", randn(v, 1.5), ctx(v, 6), top_k=6, top_p=0.6)
    add("temperature_then_top_p", randn(v, 3), ctx(v, 6), temperature=2.5, top_p=0.5)
    # Wider vocabularies: the engine's sampler starts from a few candidates
    # and has to grow the list (and, for top_p alone, use the whole mass).
    v = 2048
    add("wide_all", randn(v, 4), ctx(v, 30), penalty=1.3, temperature=0.9, top_k=20, top_p=0.95, full=False)
    add("wide_top_p", randn(v, 4), ctx(v, 30), penalty=1.2, temperature=1.1, top_p=0.6, full=False)
    return cases


def config_for(c):
    return GenerationConfig(do_sample=True, temperature=c["temperature"], top_k=c["top_k"], top_p=c["top_p"],
                            repetition_penalty=c["penalty"], num_beams=1)


def run_case(model, c, tensors, meta):
    name = c["name"]
    logits = c["logits"][None]
    ids = c["context"][None]
    tensors[f"{name}/logits"] = c["logits"]
    tensors[f"{name}/context"] = c["context"]
    scores = logits.clone()
    stages = []
    if c["penalty"] != 1.0:
        scores = RepetitionPenaltyLogitsProcessor(penalty=c["penalty"])(ids, scores)
        stages.append(("repetition_penalty", scores))
    if c["temperature"] != 1.0:
        scores = TemperatureLogitsWarper(c["temperature"])(ids, scores)
        stages.append(("temperature", scores))
    if c["top_k"] != 0:
        scores = TopKLogitsWarper(top_k=c["top_k"], min_tokens_to_keep=1)(ids, scores)
        stages.append(("top_k", scores))
    if c["top_p"] < 1.0:
        scores = TopPLogitsWarper(top_p=c["top_p"], min_tokens_to_keep=1)(ids, scores)
        stages.append(("top_p", scores))
    processors = model._get_logits_processor(generation_config=config_for(c), input_ids_seq_length=ids.shape[1],
                                             device="cpu", model_kwargs={})
    processed = processors(ids, logits.clone())
    assert torch.equal(processed, scores), name
    names = [type(p).__name__ for p in processors]
    if c["full"]:
        for stage, value in stages:
            tensors[f"{name}/{stage}"] = value[0]
    tensors[f"{name}/processed"] = processed[0]
    probs = torch.softmax(processed[0], dim=-1)
    tensors[f"{name}/probs"] = probs
    kept = int(torch.isfinite(processed[0]).sum())
    assert kept >= 1
    if name == "top_k_ties":
        assert kept == 5, kept  # the two at 4.0 and all three tied at 2.5
    meta.append(dict(name=name, vocab=int(logits.shape[1]), penalty=c["penalty"], temperature=c["temperature"],
                     top_k=c["top_k"], top_p=c["top_p"], stages=[s for s, _ in stages], processors=names,
                     kept=kept, full=c["full"]))
    print(f"{name}: {names}, {kept} of {logits.shape[1]} kept")


def penalised_greedy_loop(model, ids, steps, penalty):
    seq = ids.clone()
    out, gaps = [], []
    proc = RepetitionPenaltyLogitsProcessor(penalty=penalty)
    with torch.no_grad():
        for _ in range(steps):
            logits = model(seq, use_cache=False).logits[:, -1].float()
            scores = proc(seq, logits)[0]
            top = torch.topk(scores, 2).values
            gaps.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(scores))
            out.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
    return out, gaps


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    folder = os.path.join(HERE, "fixtures", "qwen2_tiny")
    model = transformers.Qwen2ForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    tensors, meta = {}, []
    for c in case_list(torch.Generator().manual_seed(SEED)):
        run_case(model, c, tensors, meta)

    io = load_file(os.path.join(folder, "io.safetensors"))
    prompt = io["ids"]
    with torch.no_grad():
        plain = model.generate(prompt, max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1, eos_token_id=None,
                               pad_token_id=0)[0, prompt.shape[1]:].tolist()
    assert plain[:len(io["greedy_ids"])] == io["greedy_ids"].tolist()
    tensors["penalty_greedy/prompt"] = prompt[0]
    greedy_meta = dict(new_tokens=NEW_TOKENS, plain_greedy=plain, penalties=[])
    for i, penalty in enumerate(PENALTIES):
        with torch.no_grad():
            generated = model.generate(prompt, max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1,
                                       repetition_penalty=penalty, eos_token_id=None, pad_token_id=0)
        generated = generated[0, prompt.shape[1]:].tolist()
        loop, gaps = penalised_greedy_loop(model, prompt, NEW_TOKENS, penalty)
        assert generated == loop, (generated, loop)
        assert min(gaps) > 1e-3, gaps
        assert generated != plain, (generated, plain)
        tensors[f"penalty_greedy/ids_{i}"] = torch.tensor(generated, dtype=torch.int64)
        tensors[f"penalty_greedy/gaps_{i}"] = torch.tensor(gaps)
        greedy_meta["penalties"].append(dict(penalty=penalty, min_gap=min(gaps)))
        print("penalty", penalty, "greedy", generated, "min gap", min(gaps))
    print("plain greedy", plain)

    md = versions()
    md["cases"] = json.dumps(meta, sort_keys=True)
    md["penalty_greedy"] = json.dumps(greedy_meta, sort_keys=True)
    tensors = {k: v.contiguous().clone() for k, v in sorted(tensors.items())}
    save_file(tensors, OUT, metadata=md)
    back = load_file(OUT)
    assert sorted(back) == sorted(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)
    size = os.path.getsize(OUT)
    print(f"{OUT}: {len(tensors)} tensors, {size} bytes")
    if size > MAX_BYTES:
        sys.exit(f"{OUT} is {size} bytes; it must stay under {MAX_BYTES}")


if __name__ == "__main__":
    main()
