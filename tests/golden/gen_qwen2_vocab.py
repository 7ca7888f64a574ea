#!/usr/bin/env python3
"""Golden fixture with a real Qwen2 vocabulary for the byte-level BPE tokenizer
(engine/tokenizers/bpe_tokenizer.h).

The vocabulary: `dashscope/resources/qwen.tiktoken` from the PyPI package
dashscope 2.0.2 (Alibaba Cloud, Apache-2.0), Qwen's 151,643 byte-level BPE
ranks, which are ids 0..151642 of Qwen / Qwen2 / Qwen2.5's vocabulary. From it:

  1. transformers' own tiktoken path (convert_slow_tokenizer.TikTokenConverter,
     what transformers runs for a tiktoken file) gives the vocabulary in GPT-2's
     byte alphabet, Qwen2's Split regex + ByteLevel pre-tokenizer, the ByteLevel
     decoder and post-processor and the added tokens. It also writes every
     split of every token as a merge (294,166 of them) and sets ignore_merges,
     which is not how Qwen2's files are written.
  2. Qwen2's merges are one per token (151,387), the last step of the BPE that
     reaches the token: the generator replays tiktoken's BPE on each token's
     bytes with the ranks below it. Checked against published facts of Qwen's
     files (a `merges.txt` of exactly 1,671,853 bytes and a `vocab.json` of
     exactly 3,383,406 bytes as Qwen writes them, the first merges as
     published; see PUBLISHED_FILE_FACTS) and written as vocab.json +
     merges.txt, Qwen2's slow-tokenizer layout.
  3. transformers' Qwen2 path builds tokenizer.json from those two files:
     Qwen2Tokenizer (the slow, pure-Python tokenizer) converted by
     convert_slow_tokenizer.Qwen2Converter (NFC; Split on Qwen2's regex,
     Isolated; ByteLevel without a regex or prefix space; ByteLevel
     post-processor and decoder; BPE with ignore_merges false, byte_fallback
     false), plus Qwen2's added tokens <|endoftext|> 151643, <|im_start|> 151644,
     <|im_end|> 151645 (special, not normalized; Qwen2-0.5B-Instruct adds no
     others: torchtune's QWEN2_SPECIAL_TOKENS lists these three, the
     <|object_ref_start|>... tokens from 151646 on are Qwen2.5's).

Writes tests/golden/fixtures/qwen2_vocab/:
    qwen2_vocab.tar.xz   tokenizer.json (fields spelt as Qwen2 writes them) and
                         tokenizer_config.json (Qwen2-Instruct's token fields),
                         deterministic tar (mtime 0, root), xz -9e; CMake
                         unpacks it into the build tree at configure time
                         (tests/engine/CMakeLists.txt).
    ids.json             for each of the corpus strings (mixed scripts, emoji
                         with ZWJ / skin tones / flags / tags, code, numbers,
                         whitespace runs, NFC and NFD input, special tokens in
                         text): the ids from `tokenizers` with special tokens
                         parsed and read as text (encode_special_tokens), the
                         tokens, the decode of the ids with and without special
                         tokens (and of the ids read as text), DecodeStream's
                         output at every id (both skip modes); the published ids
                         of PUBLISHED_IDS; the decodes of odd id sequences (every
                         prefix of a few strings' ids, lone byte tokens); the
                         versions and the sources' hashes.

Every string's ids are checked equal, before anything is written, across five
encoders: `tokenizers` on the written tokenizer.json; transformers'
AutoTokenizer (fast) on the written folder; transformers' slow Qwen2Tokenizer
(pure Python BPE over vocab.json + merges.txt); TikTokenConverter's own
tokenizer.json (all 294,166 merges, NFC added; with its ignore_merges true and
with it false); and tiktoken
itself on the .tiktoken file (Qwen's original tokenizer: NFC, the same regex,
rank-ordered BPE). The published ids (PUBLISHED_IDS) must come out too.

Run (CI never does; it reads the committed files). The wheel is found in
$DASHSCOPE_WHEEL or /tmp/dl (`pip download dashscope==2.0.2 --no-deps -d
/tmp/dl`); its SHA-256 and the .tiktoken file's are checked:
    /work/venv-qwen/bin/pip install "transformers<5" tokenizers tiktoken
    /work/venv-qwen/bin/python tests/golden/gen_qwen2_vocab.py
Rerunning it gives identical bytes (with the same liblzma).
"""

import hashlib
import io
import json
import lzma
import os
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile

import tiktoken
import tiktoken.load
import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, decoders
from transformers.convert_slow_tokenizer import Qwen2Converter, TikTokenConverter, bytes_to_unicode
from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "qwen2_vocab")
ARCHIVE = "qwen2_vocab.tar.xz"
MAX_ARCHIVE_BYTES = 2 * 1000 * 1000
MAX_IDS_BYTES = 1000 * 1000

WHEEL_NAME = "dashscope-2.0.2-py3-none-any.whl"
WHEEL_SHA256 = "0602d1800f7433bdb7953560986eaf5146454ed3988636c0a91963ba24e74258"
TIKTOKEN_PATH = "dashscope/resources/qwen.tiktoken"
TIKTOKEN_SHA256 = "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186"

# Qwen2's pre-tokenizer regex (transformers' Qwen2Converter and Qwen2Tokenizer,
# Qwen's tokenization_qwen.py): digits one at a time, unlike the \p{N}{1,3}
# that TikTokenConverter defaults to.
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MODEL_VOCAB = 151643

# Sizes and first lines of the files Qwen publishes (vocab.json, merges.txt),
# as a public report on Qwen2.5-Coder-0.5B-Instruct's tokenizer.json records
# them (151,643 tokens, 151,387 merges; the Qwen2 family shares vocabulary and
# merges, and adds different tokens after them).
PUBLISHED_FILE_FACTS = {
    "merges": 151387,
    "merges_txt_bytes": 1671853,
    "vocab_json_bytes": 3383406,
    "first_merges": [
        "Ġ Ġ", "ĠĠ ĠĠ", "i n", "Ġ t", "ĠĠĠĠ ĠĠĠĠ", "e r", "ĠĠ Ġ", "o n", "Ġ a", "r e", "a t", "s t", "e n",
        "o r", "Ġt h", "Ċ Ċ", "Ġ c", "l e", "Ġ s", "i t", "a n", "a r", "a l", "Ġth e", "; Ċ", "Ġ p", "Ġ f",
        "o u", "Ġ =",
    ],
}

# Ids of Qwen's tokenizer written in public tests and docs (found with a code
# search; Qwen, Qwen2, Qwen2.5 and Qwen3 share ids 0..151645). Independent of
# every encoder above.
_TRANSFORMERS_INTEGRATION = "huggingface/transformers tests/models/qwen2/test_tokenization_qwen2.py (Qwen/Qwen-tokenizer)"
_TRANSFORMERS5_COMMON = (
    "transformers 5's tests/models/qwen2/test_tokenization_qwen2.py (Qwen/Qwen2.5-VL-7B-Instruct, "
    "the common integration text)"
)
PUBLISHED_IDS = [
    (
        _TRANSFORMERS_INTEGRATION,
        "Transformers (formerly known as pytorch-transformers and pytorch-pretrained-bert) provides "
        "general-purpose architectures (BERT, GPT-2, RoBERTa, XLM, DistilBert, XLNet...) for Natural "
        "Language Understanding (NLU) and Natural Language Generation (NLG) with over 32+ pretrained "
        "models in 100+ languages and deep interoperability between Jax, PyTorch and TensorFlow.",
        [8963, 388, 320, 69514, 3881, 438, 4510, 27414, 32852, 388, 323, 4510, 27414, 21334, 35722, 1455, 529, 8,
         5707, 4586, 58238, 77235, 320, 61437, 11, 479, 2828, 12, 17, 11, 11830, 61437, 64, 11, 1599, 10994, 11,
         27604, 321, 33, 529, 11, 29881, 6954, 32574, 369, 18448, 11434, 45451, 320, 45, 23236, 8, 323, 18448,
         11434, 23470, 320, 30042, 38, 8, 448, 916, 220, 18, 17, 10, 80669, 4119, 304, 220, 16, 15, 15, 10, 15459,
         323, 5538, 94130, 2897, 1948, 619, 706, 11, 5355, 51, 21584, 323, 94986, 13],
    ),
    (
        _TRANSFORMERS_INTEGRATION,
        "🤗 Transformers 提供了可以轻松地下载并且训练先进的预训练模型的 API 和工具。使用预训练模型可以减少计算消耗和碳排放，"
        "并且节省从头训练所需要的时间和资源。",
        [144834, 80532, 93685, 83744, 34187, 73670, 104261, 29490, 62189, 103937, 104034, 102830, 98841, 104034,
         104949, 9370, 5333, 58143, 102011, 1773, 37029, 98841, 104034, 104949, 73670, 101940, 100768, 104997,
         33108, 100912, 105054, 90395, 100136, 106831, 45181, 64355, 104034, 113521, 101975, 33108, 85329, 1773],
    ),
    (
        _TRANSFORMERS_INTEGRATION,
        '```python\ntokenizer = AutoTokenizer.from_pretrained("Qwen/Qwen-tokenizer")\ntokenizer("世界，你好！")```',
        [73594, 12669, 198, 85593, 284, 8979, 37434, 6387, 10442, 35722, 445, 48, 16948, 45274, 16948, 34841, 3135,
         1138, 85593, 445, 99489, 3837, 108386, 6313, 899, 73594],
    ),
    (
        _TRANSFORMERS5_COMMON,
        "This is a test 😊\nI was born in 92000, and this is falsé.\n生活的真谛是\nHi  Hello\nHi   Hello\n\n \n  \n"
        " Hello\n<s>\nhi<s>there\nThe following string should be properly encoded: Hello.\nBut ird and ปี   ird   ด\n"
        "Hey how are you doing",
        [1986, 374, 264, 1273, 26525, 232, 198, 40, 572, 9223, 304, 220, 24, 17, 15, 15, 15, 11, 323, 419, 374,
         31932, 963, 624, 105301, 88051, 116109, 20412, 198, 13048, 220, 21927, 198, 13048, 256, 21927, 271, 48426,
         21927, 198, 44047, 397, 6023, 44047, 29, 18532, 198, 785, 2701, 914, 1265, 387, 10277, 20498, 25, 21927,
         624, 3983, 220, 2603, 323, 220, 54684, 28319, 256, 220, 2603, 256, 220, 37033, 198, 18665, 1246, 525, 498,
         3730],
    ),
    ("a Qwen2-family tokenizer test checked against llama.cpp (third-party)", "Hello world", [9707, 1879]),
    ("the same", "Hello, world! 123", [9707, 11, 1879, 0, 220, 16, 17, 18]),
    ("the same", "1+1=", [16, 10, 16, 28]),
    ("the same", "2+2=?", [17, 10, 17, 19884]),
    ("the same", "What is the capital of France?", [3838, 374, 279, 6722, 315, 9625, 30]),
    ("the same", "The capital of France is", [785, 6722, 315, 9625, 374]),
    ("the same", "   leading spaces", [256, 6388, 12621]),
    ("the same", "new\nline", [931, 198, 1056]),
    ("the same", "café", [924, 58858]),
    ("the same", "你好世界", [108386, 99489]),
    ("the same", "It's a test. It's 'ok'. 100%",
     [2132, 594, 264, 1273, 13, 1084, 594, 364, 562, 4427, 220, 16, 15, 15, 4]),
    ("a Qwen3-0.6B tokenizer test (third-party)", "Hello\nworld", [9707, 198, 14615]),
    ("the same", "<|im_start|>user\nHi<|im_end|>", [151644, 872, 198, 13048, 151645]),
    ("the same", "<|im_start|><|im_end|>", [151644, 151645]),
    ("a Qwen3-ASR tokenizer test (third-party)", "system\n", [8948, 198]),
    ("the same", "user\n", [872, 198]),
    ("the same", "assistant\n", [77091, 198]),
    ("the same", "这是上下文。", [100346, 102285, 16744, 1773]),
    ("the same", "language Chinese", [11528, 8453]),
    ("the same", "Qwen3-ASR: test 123!", [48, 16948, 18, 12, 1911, 49, 25, 1273, 220, 16, 17, 18, 0]),
    ("an SGLang / vLLM comparison report on Qwen (third-party)", "def foo(): return 42",
     [750, 15229, 4555, 470, 220, 19, 17]),
    ("the same", "🚀", [145836]),
    ("a Qwen2.5-Coder tokenizer example (fork of LLaMA-Factory, test/tokenizer.py)", "how are you!", [5158, 525, 498, 0]),
    ("the same", "I'm fine!", [40, 2776, 6915, 0]),
    ("a Qwen2.5 / Qwen3 tokenizer test (Java, third-party)", " hello sir. How are you Edward?",
     [23811, 27048, 13, 2585, 525, 498, 21891, 30]),
]

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

# The corpus. Each string is encoded with special tokens parsed and read as
# text; strings are kept short enough to read in a diff, except a few long runs.
CORPUS = [
    # Latin with accents
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë au delà des îles.",
    "Falsches Üben von Xylophonmusik quält jeden größeren Zwerg; Straße, Maß, Fuß.",
    "¿Dónde está el niño? ¡Qué pingüino tan bonito! Añejo, cigüeña, corazón.",
    "Ação, coração, não, pão — São Paulo e Brasília; você está à vontade?",
    "Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Tiếng Việt có dấu: Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.",
    "Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul, ılık, IĞDIR.",
    "Kæmi ný öxi hér, ykist þjófum nú bæði víl og ádrepa. Ærø, Øresund, Åland.",
    "Dès Noël où un zéphyr haï me vêt de glaçons würmiens, je dîne d'exquis rôtis de bœuf au kir.",
    # Cyrillic, Greek
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
    "Љубазни фењерџија чађавог лица хоће да ми покаже штос. Đurđevak, Љиљана.",
    "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός. ΣΊΣΥΦΟΣ, ς σ.",
    # Arabic, Persian, Hebrew
    "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق.",
    "بِسْمِ ٱللَّٰهِ ٱلرَّحْمَٰنِ ٱلرَّحِيمِ",
    "مرحبا بالعالم 123 ١٢٣ ۱۲۳ — السلام عليكم ورحمة الله",
    "به نام خداوند جان و خرد، کزین برتر اندیشه برنگذرد. می‌خواهم",
    "דג סקרן שט בים מאוכזב ולפתע מצא חברה. שָׁלוֹם עוֹלָם",
    # Indic, Thai and other scripts
    "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।",
    "नमस्ते दुनिया, क़लम ख़त ग़ज़ल ज़रूर फ़िल्म",
    "আমি বাংলায় গান গাই। তামিল: யாமறிந்த மொழிகளிலே தமிழ்மொழி போல்",
    "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน สวัสดีครับ",
    "ខ្ញុំអាចញ៉ាំកញ្ចក់បាន ລາວ ພາສາ ဘာသာ ქართული ენა Հայերեն ሰላም ዓለም",
    # CJK, Hangul, Japanese
    "你好，世界！这是一个测试。中文文本和英文混合在一起，视频里有一只猫。",
    "繁體中文：臺灣的鐵路與郵政，龜、鬱、齉。",
    "中文English混合text123，标点符号：《》「」『』【】……——",
    "키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다. 한국어 문장입니다.",
    "いろはにほへと ちりぬるを わかよたれそ つねならむ",
    "色は匂へど散りぬるを、カタカナとひらがな、漢字も。ｶﾀｶﾅ（半角）ＡＢＣ１２３（全角）",
    "日本語のテキスト：東京スカイツリー、ポケモン、ヴァイオリン、ゔ。",
    # Emoji
    "I love 🍕 and 🎉!",
    "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘",
    "👨‍👩‍👧‍👦 family, 👩‍❤️‍💋‍👨 kiss, 🧑‍🤝‍🧑 holding hands, 👨‍💻 coder, 🏳️‍🌈 rainbow, 🏴‍☠️ pirate",
    "👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 👋🏽‍♀️ 🧑🏿‍🚀 🤝🏼",
    "🇯🇵 🇺🇸 🇩🇪 🇫🇷 🇧🇷 🇨🇳 🇺🇦 🇪🇺 🇺🇳 and 🏴󠁧󠁢󠁥󠁮󠁧󠁿 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "Keycaps 1️⃣ 2️⃣ #️⃣ *️⃣, text vs emoji: ❤ ❤️ ☀ ☀️ ✔ ✔️",
    "❤️ ✨ 🤖🤖🤖 🫠 🫶🏽 🪿 🩷",
    "emoji🙂inside🙂words and 😂😂😂😂😂😂😂😂 in a run",
    # Code
    "def f(x):\n    return x**2  # square\n",
    'import numpy as np\n\n\nclass Model:\n    def __init__(self, n: int = 3) -> None:\n        self.w = np.zeros((n, n))\n\n    def __call__(self, x):\n        return self.w @ x\n',
    "#include <vector>\n\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;\n\treturn v[0] != 2;\n}\n",
    "fn main() {\n    let s: &str = \"héllo\";\n    println!(\"{}\", s.chars().rev().collect::<String>());\n}\n",
    "const f = async (a, b) => { await fetch(`/api?q=${a}&r=${b}`); return a ?? b; };\n",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, 世界\")\n}\n",
    "SELECT u.id, COUNT(*) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.name LIKE '%é%' GROUP BY u.id;",
    '<!DOCTYPE html>\n<html lang="en">\n  <body>\n    <p class="x">&lt;tag&gt; &amp; &#x1F600;</p>\n  </body>\n</html>\n',
    '{"name": "Qwen2", "vocab_size": 151936, "eos": [151645, 151643], "nested": {"a": null, "b": true}}',
    "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do wc -l \"$f\" | awk '{print $1}'; done 2>/dev/null\n",
    "\\begin{equation}\n  \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}",
    "main :: IO ()\nmain = mapM_ print [x | x <- [1..10], odd x] >>= \\_ -> return ()",
    "all:\n\t$(CC) -O2 -o $@ $^ -lm\n\nclean:\n\trm -f *.o\n",
    "server:\n  port: 8080\n  hosts:\n    - name: a\n      tags: [x, y]\n",
    "mov rax, 0x3c\nxor rdi, rdi\nsyscall ; exit(0)\n",
    r"^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@example\.com$",
    "if (a != b && c <= d || !e) { x += 1; y -= 2; z ^= 0xFF; } else { return -1; }",
    "https://example.com/path/to/page?q=caf%C3%A9&r=two#frag user@example.org <mailto:user@example.org>",
    "# Title\n\n- item **bold** _it_ `code`\n- [link](http://x.y)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    # Numbers
    "1234567890",
    "3141592653589793238462643383279502884197169399375105820974944592307816406286208998628034825342117067",
    "Pi is 3.14159, e is 2.71828, -0.5, +42, 1e-10, 6.022e23, 1,000,000.00 and 1.000.000,00.",
    "Call 555-0123 at 9:30am on 2024-12-31; IP 192.168.0.1, v1.2.3-rc.4, 0xDEADBEEF, 0b1010, 0o777.",
    "$19.99 €5,50 £3 ¥1000 ₹250 50% −7 ±3 ×2 ÷4 ≤5 ≥6 ≠7",
    "٣٤٥ ١٢ ۱۲۳ ½ ¼ ² ³ Ⅻ ① ⑳ １２３ ௧௨௩ ๑๒๓ 〇一二三",
    "00000000000000000000 99999999999999999999 -1234.5678e+09",
    # Whitespace
    "tabs\tand\t\tmore\t\t\ttabs",
    "line one\nline two\r\nline three\rend",
    "\n\n\nmany newlines\n\n",
    "   \t  \n  mixed   \n\t\n",
    "a  b   c    d     e      f       g        h",
    "trailing spaces   ",
    "  leading spaces",
    " ",
    "",
    "\t",
    "\r\n",
    "\r\n\r\n\r\nwindows\r\nline\r\nendings\r\n",
    " " * 100,
    "x" + " " * 37 + "y",
    "\n" * 20,
    "end with newline\n",
    "\u00a0non-breaking\u00a0space\u3000ideographic\u2003em\u2009thin\u2028line sep\u2029para sep\u0085nel",
    "x\u200by zero width\u200d joiner\u200c non-joiner\ufeffbom\u2060word joiner",
    "vertical\x0btab form\x0cfeed",
    "bell\x07 nul\x00 esc\x1b[0m del\x7f c1\x80\x9f",
    "  indented\n    more\n\t\ttabbed\n  \n",
    # NFC and NFD
    "café résumé naïve Ångström",
    NFD("café résumé naïve Ångström"),
    NFD("Tiếng Việt có dấu: Trăm năm trong cõi người ta"),
    NFD("한국어 문장입니다."),
    NFD("ガギグゲゴ パピプペポ ヴ"),
    "e\u0301\u0301 double accent, \u0301 a leading mark, a\u0328\u0301 ogonek + acute",
    "\u212b angstrom sign, \u2126 ohm sign, \u1e9b\u0323 long s",
    "\u03d2\u0301\u03d2\u0308\u017f\u0307",
    "\ufb01 ligature \uff21\uff22\uff23 fullwidth \u2460 circled \u00bd half",
    "\u0928\u093c \u0915\u093c \u0921\u093c",  # Devanagari nukta forms NFC leaves decomposed
    "\u05e9\u05c1\u05b8 \u05d1\u05bc\u05b0 reordered hebrew marks",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab jamo",
    # Special tokens in text
    "<|endoftext|>",
    "Hello<|endoftext|>World",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start <|im_end|x <|im_end|>> <|im_end| <|IM_END|> < |im_end|>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is in this video?<|im_end|>\n"
    "<|im_start|>assistant\nA cat is sitting on a red sofa.<|im_end|>\n",
    "  <|im_start|>  spaced  <|im_end|>  ",
    "word<|endoftext|>word <|endoftext|> word\n<|endoftext|>\n",
    "<|endoftext|><|endoftext|><|endoftext|>",
    "<|im_start|>user\n你好！🍕<|im_end|>",
    "<|vision_start|><|image_pad|><|vision_end|> are not Qwen2 tokens",
    "<s></s><unk>[CLS][SEP]<pad> other models' tokens",
    # Mixed and long
    "I'm sure it's fine, we'll see; they've done it and you'd agree. HE'S HERE. SHE'LL GO. I'D SAY IT'S 'QUOTED'.",
    "don'T WON'T we'Re THEY'VE I'M 'S'T'RE'VE'M'LL'D rock 'n' roll, ol' '90s",
    "!!!??? ... --- *** ''' \"\"\" ;;; ::: ((( ))) [[[ ]]] {{{ }}} <<< >>> /// \\\\\\ ||| &&& ### @@@ %%%",
    "Résumé: 5 items — ‘quotes’ “double” «guillemets» „German“ ‹single› …",
    "Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 200,
    "ab" * 60,
    "🙂" * 30,
    "的" * 40,
    "Mixed: English, Русский, 中文, العربية, हिन्दी, ไทย, 한국어, 日本語, Ελληνικά, עברית — 12 scripts 😀.",
    "The café served crème brûlée 🍮 at 3:45pm; 価格は¥1,200でした。Спасибо! شكرا! 👍🏽",
    "\ue000\uf8ff private use \U000f0000, noncharacters \ufdd0\uffff, max \U0010ffff",
    "mathematical 𝐀𝐁𝐂 𝔸𝔹ℂ 𝒜 and old italic 𐌀𐌁, cuneiform 𒀀, egyptian 𓀀",
    # Where two regex engines' Unicode tables or case folding could part: letters
    # and digits of Unicode 15 (Kawi, Nag Mundari, CJK extension H, Kaktovik
    # numerals), 15.1 (CJK extension I) and 16 (Garay), each between ASCII
    # letters so that a letter joins them and anything else splits them; U+180E
    # (white space before Unicode 6.3, a format character now); contractions
    # with letters whose case folding is s or st.
    "a\U00011f04\U00011f05b kawi, x\U0001e4d0y nag mundari, a\U00031350b ext h, 1\U0001d2c0\U0001d2c12 kaktovik",
    "a\U0002ebf0b ext i, a\U00010d50\U00010d51b garay, a\U0001e5d0b ol onal, a\U000116d0b myanmar ext c",
    "a\u180eb \u180e x \u180e\u180e y\u180e",
    "it'\u017f IT'\u017f it'\ufb05 it'\ufb06 it'\u212a 'K'k",
    # NFC decomposes composition exclusions and singletons
    "\u0958\u0959\u095a\u095b \ufb2c\ufb1d \u0344 \u1f71\u1fbb \u2adc \u0f43",
    # an added token between a letter and its combining mark: the text around it
    # is normalised alone
    "e<|im_end|>\u0301 A<|endoftext|>\u030a \u0301<|im_start|>",
    "<|<|im_end|>|> <|im_start|im_end|> <<|endoftext|>> <|endoftext|",
    # long runs
    " " * 1000 + "x",
    "\t" * 300 + "y\n" * 200,
    "9" * 1000,
]

# Strings whose every id prefix is decoded too (a prefix often ends inside a
# character: U+FFFD, one per maximal invalid sequence).
PREFIX_DECODES = [
    "👨‍👩‍👧‍👦 family, 👩‍❤️‍💋‍👨 kiss, 🧑‍🤝‍🧑 holding hands, 👨‍💻 coder, 🏳️‍🌈 rainbow, 🏴‍☠️ pirate",
    "🇯🇵 🇺🇸 🇩🇪 🇫🇷 🇧🇷 🇨🇳 🇺🇦 🇪🇺 🇺🇳 and 🏴󠁧󠁢󠁥󠁮󠁧󠁿 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "繁體中文：臺灣的鐵路與郵政，龜、鬱、齉。",
    "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน สวัสดีครับ",
    "<|im_start|>user\n你好！🍕<|im_end|>",
]


def odd_decodes(tok, hf, cases):
    """Id sequences whose decode is not a round trip: every prefix of
    PREFIX_DECODES' ids, and byte tokens on their own (every continuation byte,
    lead bytes without their continuations, a special token inside a
    character, an unknown id)."""
    encode = bytes_to_unicode()
    byte_id = lambda b: tok.token_to_id(encode[b])  # noqa: E731
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    seqs = []
    for text in PREFIX_DECODES:
        ids = next(c["ids"] for c in cases if c["text"] == text)
        seqs += [ids[:k] for k in range(1, len(ids))]
    seqs += [
        [byte_id(b) for b in range(0x80, 0xC0)],
        [byte_id(b) for b in range(0xC0, 0x100)],
        [byte_id(0xF0), byte_id(0x9F), byte_id(0x98), im_end, byte_id(0x80), byte_id(0x41)],
        [byte_id(0xE4), eot, byte_id(0xBD), byte_id(0xA0)],
        [byte_id(0xED), byte_id(0xA0), byte_id(0x80), byte_id(0xC0), byte_id(0xAF), byte_id(0xF4), byte_id(0x90)],
        [9707, 10**6, 1879, 151646],  # unknown ids are skipped
    ]
    out = []
    for ids in seqs:
        row = {"ids": ids}
        for key, skip in (("decoded", False), ("decoded_skip_special", True)):
            row[key] = tok.decode(ids, skip_special_tokens=skip)
            if hf.decode(ids, skip_special_tokens=skip) != row[key]:
                sys.exit(f"transformers decodes {ids} (skip {skip}) otherwise: {hf.decode(ids, skip_special_tokens=skip)!r}")
        out.append(row)
    return out


def stream(tok, ids, skip):
    ds = decoders.DecodeStream(skip_special_tokens=skip)
    return [ds.step(tok, i) for i in ids]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_tiktoken():
    wheel = os.environ.get("DASHSCOPE_WHEEL") or os.path.join("/tmp/dl", WHEEL_NAME)
    if not os.path.exists(wheel):
        sys.exit(f"{wheel}: not found; run: pip download dashscope==2.0.2 --no-deps -d /tmp/dl")
    with open(wheel, "rb") as f:
        whl = f.read()
    if sha256(whl) != WHEEL_SHA256:
        sys.exit(f"{wheel}: SHA-256 {sha256(whl)}, expected {WHEEL_SHA256} (PyPI's dashscope 2.0.2)")
    with zipfile.ZipFile(io.BytesIO(whl)) as z:
        data = z.read(TIKTOKEN_PATH)
        licence = z.read("dashscope-2.0.2.dist-info/licenses/LICENSE").decode()
    assert sha256(data) == TIKTOKEN_SHA256, sha256(data)
    assert "Apache License" in licence and "Version 2.0" in licence
    return data


def qwen2_merges(ranks):
    """One merge per token, as Qwen's files have them: the last step of the BPE
    (lowest rank first, leftmost on ties, as tiktoken merges) that builds the
    token from its bytes using only lower-ranked tokens."""
    encode = bytes_to_unicode()
    text = lambda b: "".join(encode[x] for x in b)  # noqa: E731
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = [bytes([b]) for b in token]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < rank and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) != 2 or parts[0] + parts[1] not in ranks or ranks[parts[0]] >= rank or ranks[parts[1]] >= rank:
            sys.exit(f"token {token!r} (rank {rank}) is not reached by merging two lower-ranked tokens")
        merges.append((text(parts[0]), text(parts[1])))
    return merges


def qwen2_json(tok):
    """tokenizer.json with the fields spelt as Qwen2's file has them."""
    j = json.loads(tok.to_str())
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    assert j["normalizer"] == {"type": "NFC"}, j["normalizer"]
    pre = j["pre_tokenizer"]
    assert pre["type"] == "Sequence" and len(pre["pretokenizers"]) == 2
    assert pre["pretokenizers"][0] == {
        "type": "Split",
        "pattern": {"Regex": QWEN2_PATTERN},
        "behavior": "Isolated",
        "invert": False,
    }, pre["pretokenizers"][0]
    assert pre["pretokenizers"][1]["type"] == "ByteLevel" and not pre["pretokenizers"][1]["use_regex"]
    assert not pre["pretokenizers"][1]["add_prefix_space"]
    pre["pretokenizers"][1] = dict(byte_level)
    assert j["post_processor"]["type"] == "ByteLevel" and j["decoder"]["type"] == "ByteLevel"
    j["post_processor"] = dict(byte_level)
    j["decoder"] = dict(byte_level)
    model = j["model"]
    assert model["type"] == "BPE" and model["ignore_merges"] is False and model["byte_fallback"] is False
    assert model["dropout"] is None and model["unk_token"] is None and model["fuse_unk"] is False
    assert model["continuing_subword_prefix"] == "" and model["end_of_word_suffix"] == ""
    return j


def tar_xz(files):
    """A tar of `files` (name -> bytes) that is the same bytes on every run."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(files[name]))
    return lzma.compress(buf.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9 | lzma.PRESET_EXTREME)


def tiktoken_encoder(ranks):
    """Qwen's original tokenizer (tokenization_qwen.py): NFC, then tiktoken."""
    enc = tiktoken.Encoding(
        "qwen",
        pat_str=QWEN2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={t: MODEL_VOCAB + i for i, t in enumerate(ADDED)},
    )

    def encode(text, parse_special):
        text = unicodedata.normalize("NFC", text)
        if parse_special:
            return enc.encode(text, allowed_special="all")
        return enc.encode_ordinary(text)

    return encode


def main():
    os.makedirs(OUT, exist_ok=True)
    assert len(CORPUS) >= 100 and len(set(CORPUS)) == len(CORPUS), "corpus strings must be distinct"
    raw = read_tiktoken()

    with tempfile.TemporaryDirectory() as tmp:
        tiktoken_file = os.path.join(tmp, "qwen.tiktoken")
        with open(tiktoken_file, "wb") as f:
            f.write(raw)
        ranks = tiktoken.load.load_tiktoken_bpe(tiktoken_file)
        assert len(ranks) == MODEL_VOCAB and sorted(ranks.values()) == list(range(MODEL_VOCAB))

        # 1. transformers' tiktoken converter.
        converter = TikTokenConverter(vocab_file=tiktoken_file, pattern=QWEN2_PATTERN, additional_special_tokens=ADDED)
        converted = converter.converted()
        conv_json = json.loads(converted.to_str())
        vocab = conv_json["model"]["vocab"]
        assert len(vocab) == MODEL_VOCAB and sorted(vocab.values()) == list(range(MODEL_VOCAB))
        assert [(a["content"], a["id"]) for a in conv_json["added_tokens"]] == [
            (t, MODEL_VOCAB + i) for i, t in enumerate(ADDED)
        ]

        # 2. Qwen2's merges, checked against the published files' facts.
        merges = qwen2_merges(ranks)
        merges_txt = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n"
        vocab_json = json.dumps(vocab, ensure_ascii=False, indent=2)
        facts = PUBLISHED_FILE_FACTS
        assert len(merges) == facts["merges"], len(merges)
        assert len(merges_txt.encode()) == facts["merges_txt_bytes"], len(merges_txt.encode())
        assert len(vocab_json.encode()) == facts["vocab_json_bytes"], len(vocab_json.encode())
        assert [f"{a} {b}" for a, b in merges[: len(facts["first_merges"])]] == facts["first_merges"]
        slow_dir = os.path.join(tmp, "slow")
        os.makedirs(slow_dir)
        with open(os.path.join(slow_dir, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(vocab_json)
        with open(os.path.join(slow_dir, "merges.txt"), "w", encoding="utf-8") as f:
            f.write(merges_txt)

        # 3. transformers' Qwen2 path: the slow tokenizer, converted.
        slow = Qwen2Tokenizer(
            os.path.join(slow_dir, "vocab.json"),
            os.path.join(slow_dir, "merges.txt"),
            unk_token=None,
            bos_token=None,
            eos_token="<|endoftext|>",
            pad_token="<|endoftext|>",
            additional_special_tokens=ADDED[1:],
        )
        assert [slow.convert_tokens_to_ids(t) for t in ADDED] == [MODEL_VOCAB + i for i in range(len(ADDED))]
        backend = Qwen2Converter(slow).converted()
        backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ADDED])
        j = qwen2_json(backend)
        assert j["model"]["vocab"] == vocab
        assert [(a["content"], a["id"], a["special"], a["normalized"]) for a in j["added_tokens"]] == [
            (t, MODEL_VOCAB + i, True, False) for i, t in enumerate(ADDED)
        ]
        tokenizer_json = json.dumps(j, ensure_ascii=False, indent=2) + "\n"
        config = {
            "add_prefix_space": False,
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
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
        config_json = json.dumps(config, indent=2, sort_keys=True) + "\n"
        folder = os.path.join(tmp, "folder")
        os.makedirs(folder)
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(tokenizer_json)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            f.write(config_json)

        # The references.
        t0 = time.perf_counter()
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        load_s = time.perf_counter() - t0
        tok_text = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        tok_text.encode_special_tokens = True
        hf = transformers.AutoTokenizer.from_pretrained(folder)
        assert type(hf).__name__ == "Qwen2TokenizerFast", type(hf)
        hf_text = transformers.AutoTokenizer.from_pretrained(folder, split_special_tokens=True)
        slow_text = Qwen2Tokenizer(
            os.path.join(slow_dir, "vocab.json"),
            os.path.join(slow_dir, "merges.txt"),
            unk_token=None,
            bos_token=None,
            eos_token="<|endoftext|>",
            pad_token="<|endoftext|>",
            additional_special_tokens=ADDED[1:],
            split_special_tokens=True,
        )
        conv_ignore = Tokenizer.from_str(converted.to_str())  # TikTokenConverter's own file
        conv_patched = json.loads(converted.to_str())
        conv_patched["normalizer"] = {"type": "NFC"}
        conv_patched["model"]["ignore_merges"] = False
        conv_merges = Tokenizer.from_str(json.dumps(conv_patched))
        conv_ignore.normalizer = conv_merges.normalizer  # NFC, which the converter leaves out
        tik = tiktoken_encoder(ranks)

        published = []
        for source, text, want in PUBLISHED_IDS:
            got = tok.encode(text).ids
            if got != want:
                sys.exit(f"published ids of {text!r} ({source}) differ:\n got  {got}\n want {want}")
            published.append({"source": source, "text": text, "ids": want})

        cases = []
        disagreements = []
        t0 = time.perf_counter()
        for s in CORPUS:
            tok.encode(s)
        encode_s = time.perf_counter() - t0
        for s in CORPUS:
            enc = tok.encode(s)
            ids = enc.ids
            ids_text = tok_text.encode(s).ids
            others = {
                "transformers fast": hf(s, add_special_tokens=True)["input_ids"],
                "transformers slow": slow(s, add_special_tokens=True)["input_ids"],
                "TikTokenConverter (ignore_merges)": conv_ignore.encode(s).ids,
                "TikTokenConverter (merges)": conv_merges.encode(s).ids,
                "tiktoken": tik(s, True),
            }
            others_text = {
                "transformers fast": hf_text(s, add_special_tokens=True)["input_ids"],
                "transformers slow": slow_text(s, add_special_tokens=True)["input_ids"],
                "tiktoken": tik(s, False),
            }
            for name, got in others.items():
                if got != ids:
                    disagreements.append(f"{name} on {s!r}: {got} vs {ids}")
            for name, got in others_text.items():
                if got != ids_text:
                    disagreements.append(f"{name} (specials as text) on {s!r}: {got} vs {ids_text}")
            decoded = tok.decode(ids, skip_special_tokens=False)
            decoded_skip = tok.decode(ids, skip_special_tokens=True)
            for skip, want in ((False, decoded), (True, decoded_skip)):
                got = hf.decode(ids, skip_special_tokens=skip)
                if got != want:
                    disagreements.append(f"transformers decode (skip {skip}) of {s!r}: {got!r} vs {want!r}")
            st = stream(tok, ids, False)
            st_skip = stream(tok, ids, True)
            assert "".join(p or "" for p in st) == decoded or "\ufffd" in decoded, s
            cases.append(
                {
                    "text": s,
                    "ids": ids,
                    "tokens": enc.tokens,
                    "ids_no_special": ids_text,
                    "decoded": decoded,
                    "decoded_skip_special": decoded_skip,
                    "decoded_no_special": tok.decode(ids_text, skip_special_tokens=False),
                    "stream": st,
                    "stream_skip_special": st_skip,
                }
            )
        if disagreements:
            sys.exit("the encoders disagree:\n" + "\n".join(disagreements))
        # NFC: composed and decomposed spellings tokenize alike.
        for composed in ("café résumé naïve Ångström", "한국어 문장입니다."):
            a = tok.encode(composed).ids
            assert a == cases[CORPUS.index(NFD(composed))]["ids"], composed

        archive = tar_xz({"tokenizer.json": tokenizer_json.encode(), "tokenizer_config.json": config_json.encode()})
        if len(archive) > MAX_ARCHIVE_BYTES:
            sys.exit(f"{ARCHIVE} is {len(archive)} bytes, over {MAX_ARCHIVE_BYTES}")
        # It unpacks to what was checked.
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:xz") as t:
            assert t.extractfile("tokenizer.json").read() == tokenizer_json.encode()
            assert t.extractfile("tokenizer_config.json").read() == config_json.encode()

    doc = {
        "generator": "tests/golden/gen_qwen2_vocab.py",
        "source": {
            "package": "dashscope 2.0.2 (PyPI), Apache-2.0",
            "wheel": WHEEL_NAME,
            "wheel_sha256": WHEEL_SHA256,
            "file": TIKTOKEN_PATH,
            "file_sha256": TIKTOKEN_SHA256,
        },
        "archive": ARCHIVE,
        "archive_sha256": sha256(archive),
        "tokenizer_json_sha256": sha256(tokenizer_json.encode()),
        "tokenizer_json_bytes": len(tokenizer_json.encode()),
        "versions": {
            "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__,
            "tiktoken": tiktoken.__version__,
            "python": sys.version.split()[0],
            "unicodedata": unicodedata.unidata_version,
        },
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "model_vocab_size": tok.get_vocab_size(with_added_tokens=False),
        "merges": len(merges),
        "added_tokens": {t: MODEL_VOCAB + i for i, t in enumerate(ADDED)},
        "special": {"eos": hf.eos_token_id, "pad": hf.pad_token_id, "bos": hf.bos_token_id},
        "tokens": sum(len(c["ids"]) for c in cases),
        "cases": cases,
        "published": published,
        "odd_decodes": odd_decodes(tok, hf, cases),
    }
    # One case per line: a readable diff.
    rest = {k: v for k, v in doc.items() if k not in ("cases", "published", "odd_decodes")}
    text = json.dumps(rest, ensure_ascii=False, indent=1, sort_keys=True)
    assert text.endswith("\n}")
    for key in ("cases", "published", "odd_decodes"):
        rows = ",\n".join("  " + json.dumps(c, ensure_ascii=False, sort_keys=True) for c in doc[key])
        text = text[:-2] + f',\n "{key}": [\n{rows}\n ]\n}}'
    json.loads(text)
    if len(text.encode()) > MAX_IDS_BYTES:
        sys.exit(f"ids.json is {len(text.encode())} bytes, over {MAX_IDS_BYTES}")
    with open(os.path.join(OUT, "ids.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, ARCHIVE), "wb") as f:
        f.write(archive)
    print(
        f"{OUT}: {len(cases)} strings, {doc['tokens']} tokens, {len(published)} published id lists; "
        f"vocab {doc['vocab_size']}, {doc['merges']} merges; tokenizer.json {len(tokenizer_json.encode())} bytes, "
        f"{ARCHIVE} {len(archive)} bytes, ids.json {len(text.encode())} bytes; "
        f"tokenizers: load {load_s:.3f} s, encode corpus {encode_s * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
