#!/usr/bin/env python3
"""Golden fixture for the byte-level BPE tokenizer (engine/tokenizers/bpe_tokenizer.h).

Writes tests/golden/fixtures/qwen2_tokenizer/:
    tokenizer.json         a small byte-level BPE trained here with the `tokenizers`
                           library on the multilingual text below, with Qwen2's exact
                           normalizer (NFC), pre-tokenizer (Split on Qwen2's regex,
                           Isolated + ByteLevel without regex), post-processor and
                           decoder (ByteLevel), and Qwen2's / LLaVA-OneVision's
                           added tokens appended after the vocabulary as Qwen2 has
                           them (plus a few with lstrip / rstrip / single_word /
                           normalized set, which Qwen2 does not use but other
                           tokenizer.json files do).
    tokenizer_config.json  Qwen2-Instruct's special-token fields (eos <|im_end|>,
                           pad <|endoftext|>, no bos).
    ids.json               for each test string: the ids from `tokenizers` (special
                           tokens parsed, and not: encode_special_tokens), checked
                           equal to transformers' AutoTokenizer on this folder; the
                           decoded text (with and without special tokens); what
                           tokenizers' DecodeStream returns for each id; the ids of
                           a GPT-2 style variant (the same vocab with
                           pre_tokenizer ByteLevel(use_regex=true, add_prefix_space=true),
                           no normalizer; the JSON patch is recorded); decodes of
                           odd id sequences (lone bytes of multi-byte characters).

Also writes the seeds of tests/fuzz/bpe_tokenizer_fuzz.cpp into
tests/fuzz/corpus/bpe_tokenizer/ (named by their SHA-1, as libFuzzer names
them): each test string in both text modes, and cut-down copies of the
fixture (the first merges only) with each variant's configuration.

Run (CI never does; it reads the committed files):
    python3 -m venv /work/venv-tok && /work/venv-tok/bin/pip install tokenizers transformers
    /work/venv-tok/bin/python tests/golden/gen_bpe_tokenizer.py
"""

import hashlib
import json
import os
import random
import sys
import unicodedata

import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "qwen2_tokenizer")
FUZZ_SEEDS = os.path.join(HERE, "..", "fuzz", "corpus", "bpe_tokenizer")
FUZZ_MAX_LEN = 65536  # tests/fuzz/run.sh's -max_len
SEED = 20261212
VOCAB_SIZE = 4000
MAX_FIXTURE_BYTES = 1000 * 1000

QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen2's own added tokens (ids follow the vocabulary, special, not normalized),
# LLaVA-OneVision's <image> / <video>, Qwen2.5's non-special <tool_call>, and a
# few flags Qwen2 does not use.
ADDED = [
    dict(content="<|endoftext|>", special=True),
    dict(content="<|im_start|>", special=True),
    dict(content="<|im_end|>", special=True),
    dict(content="<|vision_start|>", special=True),
    dict(content="<|vision_end|>", special=True),
    dict(content="<image>", special=True),
    dict(content="<video>", special=True),
    dict(content="<tool_call>", special=False, normalized=False),
    dict(content="</tool_call>", special=False, normalized=False),
    dict(content="<mask>", special=True, lstrip=True),
    dict(content="[SEP]", special=True, rstrip=True),
    dict(content="xyz", special=False, normalized=False, single_word=True),
    dict(content="café", special=False, normalized=True),
]

TRAINING_TEXT = """
The quick brown fox jumps over the lazy dog. A camera watches the street while people walk by.
What is in this image? The picture shows a cat sitting on a red sofa next to a window.
I'm sure it's fine; we'll see what they've done, and you'd agree that she's right. Don't worry, it isn't hard.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 3.14159 1,000,000 555-0123 9:30am.
Le renard brun rapide saute par-dessus le chien paresseux. Café, résumé, naïve, façade, élève, où, déjà.
Der schnelle braune Fuchs springt über den faulen Hund. Größe, Straße, Übung, Mädchen, schön.
El rápido zorro marrón salta sobre el perro perezoso. ¿Qué hora es? ¡Mañana será otro día!
Быстрая коричневая лиса прыгает через ленивую собаку. Привет, мир! Ёжик в тумане.
Η γρήγορη καφέ αλεπού πηδά πάνω από το τεμπέλικο σκυλί. Ελληνικά κείμενα.
快速的棕色狐狸跳过了懒狗。你好，世界！这是一个测试。中文文本和英文混合在一起。视频里有一只猫。
素早い茶色の狐がのろまな犬を飛び越える。日本語のテキストとカタカナ、ひらがな。こんにちは。
빠른 갈색 여우가 게으른 개를 뛰어넘는다. 한국어 문장입니다. 안녕하세요.
الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بالعالم. السلام عليكم ورحمة الله.
तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते दुनिया।
สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ สวัสดีครับ
השועל החום המהיר קופץ מעל הכלב העצלן. שלום עולם.
Emoji: 😀 😂 🍕 🎉 ❤️ ✨ 🤖 👍🏽 👨‍👩‍👧‍👦 🇯🇵 🐱 📷
def main(argv):
    for i in range(10):
        print(f"value {i}: {i ** 2}")  # squares
    return 0
if (a != b && c <= d) { return -1; } else { x += 1; }
https://example.com/path?q=1&r=two#frag user@example.org <mailto:user@example.org>
<|im_start|>system
You are a helpful assistant.<|im_end|>
<|im_start|>user
Describe the video.<|im_end|>
<|im_start|>assistant
The video shows a person riding a bicycle along a river.<|im_end|>
"""


def synthetic_words(rng, count):
    """Seeded pseudo-words in several scripts, so the trainer has enough pairs for VOCAB_SIZE."""
    syllables = {
        "latin": "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi ga ge go la le li lo lu ma me mi mo mu "
        "na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze "
        "tion ing er ed ly ment ness able ous ive".split(),
        "cyrillic": "ба бе би бо бу ва ве ви во да де ди до ка ке ки ко ла ле ли ло ма ме ми мо на не ни но "
        "ра ре ри ро са се си со та те ти то".split(),
        "cjk": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长"),
        "kana": list("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソ"),
        "arabic": "با بي تا تي ثا جا حا خا دا را زا سا شا صا طا عا فا قا كا لا ما نا ها وا يا ال".split(),
    }
    words = []
    for _ in range(count):
        script = rng.choice(list(syllables))
        n = rng.randint(2, 4) if script != "cjk" else rng.randint(2, 5)
        words.append("".join(rng.choice(syllables[script]) for _ in range(n)))
    return words


def training_lines():
    rng = random.Random(SEED)
    lines = [line for line in TRAINING_TEXT.splitlines() if line]
    words = synthetic_words(rng, 6000)
    for i in range(0, len(words), 12):
        lines.append(" ".join(words[i : i + 12]))
    return lines


def qwen2_pipeline(tok):
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    qwen2_pipeline(tok)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(training_lines(), trainer=trainer)
    # Added after training, so their ids follow the vocabulary and they are not
    # in model.vocab: Qwen2's layout.
    for spec in ADDED:
        a = AddedToken(
            spec["content"],
            single_word=spec.get("single_word", False),
            lstrip=spec.get("lstrip", False),
            rstrip=spec.get("rstrip", False),
            normalized=spec.get("normalized", not spec["special"]),
            special=spec["special"],
        )
        if spec["special"]:
            tok.add_special_tokens([a])
        else:
            tok.add_tokens([a])
    return tok


def qwen2_json(tok):
    """tokenizer.json as Qwen2 writes it: the model's fields in Qwen2's spelling."""
    j = json.loads(tok.to_str())
    model = j["model"]
    model.update(
        {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
        }
    )
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    j["normalizer"] = {"type": "NFC"}
    j["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level,
        ],
    }
    j["post_processor"] = dict(byte_level)
    j["decoder"] = dict(byte_level)
    return j


GPT2_PATCH = {
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
}


def split_then_bytes(pattern, behavior, invert=False):
    return {
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        }
    }


# Variants of the fixture's tokenizer.json, each a patch merged into it (objects
# merge key by key, anything else replaces; the C++ test merges the same way),
# so every split behaviour, invert, a literal pattern, the other normal forms,
# ignore_merges, a TemplateProcessing and the legacy "a b" merges are checked
# against the reference too.
VARIANTS = [
    ("gpt2_byte_level", GPT2_PATCH),
    ("split_removed", split_then_bytes({"Regex": r"\s+"}, "Removed")),
    ("split_merged_with_previous", split_then_bytes({"Regex": r"[,.!?\s]"}, "MergedWithPrevious")),
    ("split_merged_with_next", split_then_bytes({"Regex": r"[,.!?\s]"}, "MergedWithNext")),
    ("split_contiguous", split_then_bytes({"Regex": r"\p{N}|\s"}, "Contiguous")),
    ("split_invert_removed", split_then_bytes({"Regex": r"\p{L}+"}, "Removed", invert=True)),
    ("split_string_isolated", split_then_bytes({"String": " "}, "Isolated")),
    ("nfkc_gpt2", dict(GPT2_PATCH, normalizer={"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "NFKC"}]})),
    ("nfd", {"normalizer": {"type": "NFD"}}),
    ("ignore_merges", {"model": {"ignore_merges": True}}),
    (
        "template",
        {
            "post_processor": {
                "type": "Sequence",
                "processors": [
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
                    {
                        "type": "TemplateProcessing",
                        "single": [
                            {"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}},
                            {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}},
                        ],
                        "pair": [
                            {"Sequence": {"id": "A", "type_id": 0}},
                            {"Sequence": {"id": "B", "type_id": 1}},
                        ],
                        "special_tokens": {
                            "<|im_start|>": {"id": "<|im_start|>", "ids": [4001], "tokens": ["<|im_start|>"]},
                            "<|im_end|>": {"id": "<|im_end|>", "ids": [4002], "tokens": ["<|im_end|>"]},
                        },
                    },
                ],
            }
        },
    ),
]


def merged(base, patch):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    out = dict(base)
    for k, v in patch.items():
        out[k] = merged(base.get(k), v) if isinstance(v, dict) else v
    return out

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

STRINGS = [
    # English
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "What is the sum of 40 and 2?",
    "Supercalifragilisticexpialidocious",
    "a" * 64,
    # contractions, with case
    "I'm sure it's fine, we'll see; they've done it and you'd agree.",
    "HE'S HERE. SHE'LL GO. I'D SAY IT'S 'QUOTED'.",
    "don'T WON'T we'Re THEY'VE I'M 'S'T'RE'VE'M'LL'D",
    "rock 'n' roll, ol' '90s",
    # numbers: each digit is its own piece
    "1234567890",
    "Pi is 3.14159, e is 2.71828, and 1,000,000 is a million.",
    "Call 555-0123 at 9:30am on 2024-12-31.",
    "٣٤٥ ١٢ ۱۲۳ ½ ² Ⅻ ①",
    # CJK
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 문장입니다.",
    "中文English混合text123",
    # emoji
    "I love 🍕 and 🎉!",
    "👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🇯🇵 flag",
    "❤️ ✨ 🤖🤖🤖",
    # combining characters: NFC and NFD input must give the same ids
    "café résumé naïve Ångström",
    NFD("café résumé naïve Ångström"),
    NFD("한국어 문장입니다."),
    "e\u0301\u0301 double accent, \u0301 a leading mark",
    "\ufb01 ligature \uff21\uff22\uff23 fullwidth \u212b angstrom sign",
    "Ελληνικά κείμενο ΣΊΣΥΦΟΣ",
    "İstanbul ıi Straße",
    # right-to-left and other scripts
    "مرحبا بالعالم",
    "السلام عليكم 123 ورحمة الله",
    "Привет, мир! Ёжик.",
    "नमस्ते दुनिया",
    "สวัสดีครับ",
    "שלום עולם",
    # whitespace
    "tabs\tand\t\tmore\ttabs",
    "line one\nline two\r\nline three\rend",
    "\n\n\nmany newlines\n\n",
    "   \t  \n  mixed   \n\t\n",
    "a  b   c    d",
    "trailing spaces   ",
    "  leading spaces",
    " ",
    "",
    "\u00a0non-breaking\u00a0space\u3000ideographic\u2003em\u2028line sep",
    "x\u200by zero width\u200d joiner",
    "bell\x07 nul\x00 esc\x1b[0m del\x7f",
    # code and punctuation
    "def f(x):\n    return x**2  # square\n",
    "if (a != b && c <= d) { return -1; }",
    "https://example.com/path?q=1&r=two#frag",
    "!!!??? ... --- *** ''' \"\"\"",
    "Résumé: 5 items — ‘quotes’ “double” «guillemets» …",
    # special tokens in text
    "<|endoftext|>",
    "Hello<|endoftext|>World",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start <|im_end|x <|im_end|>> <|im_end|",
    "<image><image><video>",
    "<|vision_start|><image><|vision_end|>What is this?",
    "<|im_start|>user\nWhat is in this image?<image><|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<video>\nDescribe the video.<|im_end|>\n"
    "<|im_start|>assistant\nThe video shows a cat.<|im_end|>\n",
    'text <tool_call>{"name": "f"}</tool_call> more',
    # lstrip / rstrip / single_word / normalized added tokens
    "hello   <mask>   world",
    "a [SEP]   b [SEP]\n\nc",
    "xyz axyz xyzb xyz. (xyz)",
    "I like cafe\u0301 and café, not cafes",
]

# Id sequences whose decoding is not a simple round trip: lone bytes of
# multi-byte characters, a special token between them, unknown ids.
def odd_decodes(tok):
    byte_to_char = {}
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    # GPT-2's table, as the decoder defines it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_to_char = {b: chr(c) for b, c in zip(bs, cs)}
    assert set(byte_to_char.values()) == set(alphabet)
    byte_id = lambda b: tok.token_to_id(byte_to_char[b])  # noqa: E731
    eot = tok.token_to_id("<|endoftext|>")
    seqs = [
        [byte_id(0xE4)],  # first byte of a 3-byte character
        [byte_id(0xE4), byte_id(0xBD)],  # two of three
        [byte_id(0xE4), byte_id(0xBD), byte_id(0xA0)],  # 你
        [byte_id(0xE4), eot, byte_id(0xBD), byte_id(0xA0)],
        [byte_id(0xF0), byte_id(0x9F), byte_id(0x98), byte_id(0x80), byte_id(0x41)],  # 😀A
        [byte_id(0xF0), byte_id(0x9F), byte_id(0x41)],
        [byte_id(0xFF), byte_id(0xC0), byte_id(0x80), byte_id(0xED), byte_id(0xA0), byte_id(0x80)],
        [byte_id(0x41), 10**6, byte_id(0x42)],  # an unknown id is skipped
    ]
    out = []
    for ids in seqs:
        out.append(
            {
                "ids": ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            }
        )
    return out


def small_copy(j, merges):
    """The fixture cut to its first `merges` merges (and the tokens they use)."""
    kept = {t for m in j["model"]["merges"][:merges] for t in (m[0], m[1], m[0] + m[1])}
    vocab = {t: i for t, i in j["model"]["vocab"].items() if i < 256 or t in kept}
    out = json.loads(json.dumps(j))
    out["model"]["vocab"] = vocab
    out["model"]["merges"] = [m for m in j["model"]["merges"][:merges] if all(t in vocab for t in (m[0], m[1], m[0] + m[1]))]
    return out


def write_fuzz_seeds(j):
    os.makedirs(FUZZ_SEEDS, exist_ok=True)
    for name in os.listdir(FUZZ_SEEDS):
        os.remove(os.path.join(FUZZ_SEEDS, name))
    seeds = []
    for s in STRINGS:
        seeds.append(b"\x00" + s.encode())
        seeds.append(b"\x02" + s.encode())
    sample = "<|im_start|>user\nWhat's in 🍕 café? 12<|im_end|>\n".encode()
    base = small_copy(j, 300)
    for patch in [{}] + [p for _, p in VARIANTS]:
        text = json.dumps(merged(base, patch), ensure_ascii=False, separators=(",", ":")).encode()
        seeds.append(b"\x01" + text + b"\x00" + sample)
    legacy = json.loads(json.dumps(base))
    legacy["model"]["merges"] = [" ".join(m) for m in legacy["model"]["merges"]]
    seeds.append(b"\x03" + json.dumps(legacy, ensure_ascii=False, separators=(",", ":")).encode() + b"\x00" + sample)
    for seed in seeds:
        assert len(seed) <= FUZZ_MAX_LEN, len(seed)
        with open(os.path.join(FUZZ_SEEDS, hashlib.sha1(seed).hexdigest()), "wb") as f:
            f.write(seed)
    return len(seeds)


def stream(tok, ids, skip):
    ds = decoders.DecodeStream(skip_special_tokens=skip)
    return [ds.step(tok, i) for i in ids]


def main():
    os.makedirs(OUT, exist_ok=True)
    built = build_tokenizer()
    j = qwen2_json(built)
    text = json.dumps(j, ensure_ascii=False, indent=1, sort_keys=False)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    config = {
        "add_prefix_space": False,
        "bos_token": None,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    tok = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    tok_split = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    tok_split.encode_special_tokens = True
    variants = [(name, patch, Tokenizer.from_str(json.dumps(merged(j, patch)))) for name, patch in VARIANTS]
    # The older spelling of merges, "a b": the same tokenizer.
    legacy_json = json.loads(json.dumps(j))
    legacy_json["model"]["merges"] = [" ".join(m) for m in legacy_json["model"]["merges"]]
    legacy = Tokenizer.from_str(json.dumps(legacy_json))
    hf = transformers.AutoTokenizer.from_pretrained(OUT)

    cases = []
    for s in STRINGS:
        enc = tok.encode(s)
        ids = enc.ids
        hf_ids = hf(s, add_special_tokens=True)["input_ids"]
        if hf_ids != ids:
            sys.exit(f"transformers and tokenizers disagree on {s!r}: {hf_ids} vs {ids}")
        if legacy.encode(s).ids != ids:
            sys.exit(f"legacy merges give other ids for {s!r}")
        cases.append(
            {
                "text": s,
                "ids": ids,
                "tokens": enc.tokens,
                "ids_no_special": tok_split.encode(s).ids,
                "variants": {name: t.encode(s).ids for name, _, t in variants},
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
                "stream": stream(tok, ids, False),
                "stream_skip_special": stream(tok, ids, True),
            }
        )
    # NFC: the composed and decomposed spellings must tokenize alike.
    assert cases[STRINGS.index(NFD("café résumé naïve Ångström"))]["ids"] == cases[
        STRINGS.index("café résumé naïve Ångström")
    ]["ids"]

    vocab = tok.get_vocab(with_added_tokens=True)
    doc = {
        "generator": "tests/golden/gen_bpe_tokenizer.py",
        "seed": SEED,
        "versions": {
            "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__,
            "python": sys.version.split()[0],
            "unicodedata": unicodedata.unidata_version,
        },
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "model_vocab_size": tok.get_vocab_size(with_added_tokens=False),
        "merges": len(j["model"]["merges"]),
        "special": {
            "eos": hf.eos_token_id,
            "pad": hf.pad_token_id,
            "bos": hf.bos_token_id,
        },
        "added_tokens": {a["content"]: vocab[a["content"]] for a in ADDED},
        "variants": {name: patch for name, patch in VARIANTS},
        "cases": cases,
        "odd_decodes": odd_decodes(tok),
    }
    # One case per line: a readable diff at a fraction of the size.
    rest = {k: v for k, v in doc.items() if k not in ("cases", "odd_decodes")}
    text = json.dumps(rest, ensure_ascii=False, indent=1, sort_keys=True)
    assert text.endswith("\n}")
    for key in ("cases", "odd_decodes"):
        rows = ",\n".join("  " + json.dumps(c, ensure_ascii=False, sort_keys=True) for c in doc[key])
        text = text[:-2] + f',\n "{key}": [\n{rows}\n ]\n}}'
    json.loads(text)
    with open(os.path.join(OUT, "ids.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    if total > MAX_FIXTURE_BYTES:
        sys.exit(f"fixture is {total} bytes, over {MAX_FIXTURE_BYTES}")
    print(f"{OUT}: {len(cases)} strings, vocab {doc['vocab_size']}, {doc['merges']} merges, {total} bytes")
    print(f"{os.path.normpath(FUZZ_SEEDS)}: {write_fuzz_seeds(j)} seeds")


if __name__ == "__main__":
    main()
