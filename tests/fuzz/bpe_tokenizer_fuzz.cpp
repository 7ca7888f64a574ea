// libFuzzer target: the byte-level BPE tokenizer (tokenizer.json) and text.
// The first input byte picks the mode: even bytes tokenize the rest as text
// with the golden fixture's Qwen2-style tokenizer (any bytes, invalid UTF-8
// included; bit 1 turns special-token parsing off); odd bytes split the rest
// at the first NUL into a tokenizer.json and a text, load the one and
// tokenize the other. Either way: ids or an sc::Error, never a crash, and
// the streamed decode of the ids must equal their decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/tokenizers/bpe_tokenizer.h"

namespace {

using sc::engine::BpeTokenizer;
using sc::engine::StreamDecoder;

const std::string kFixture = std::string(SC_FUZZ_ROOT) + "/tests/golden/fixtures/qwen2_tokenizer";

const BpeTokenizer& real_tokenizer() {
  static const auto tok = std::make_unique<BpeTokenizer>(BpeTokenizer::load(kFixture));
  return *tok;
}

void exercise(const BpeTokenizer& tok, std::string_view text, bool parse_special) {
  const std::vector<std::int64_t> ids = tok.encode(text, {.parse_special = parse_special});
  for (bool skip : {false, true}) {
    const std::string whole = tok.decode(ids, skip);
    StreamDecoder stream(tok, skip);
    std::string pieces;
    for (std::int64_t id : ids) pieces += stream.push(id);
    pieces += stream.flush();
    if (pieces != whole) std::abort();  // streaming must add up to decode()
  }
  for (std::int64_t id : ids) {
    const auto token = tok.id_to_token(id);
    if (!token) std::abort();  // encode only makes ids it knows
    (void)tok.token_to_id(*token);
    (void)tok.is_special(id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    try {
      exercise(real_tokenizer(), rest, (data[0] & 2) == 0);
    } catch (const sc::Error&) {
    }
    return 0;
  }
  const auto split = rest.find('\0');
  const std::string_view json = rest.substr(0, split);
  const std::string_view text = split == std::string_view::npos ? std::string_view{} : rest.substr(split + 1);
  try {
    const BpeTokenizer tok = BpeTokenizer::parse(json, "<fuzz>");
    exercise(tok, text, (data[0] & 2) == 0);
    exercise(tok, "Hello <|im_start|>user\n\xE4\xBD\xA0\xE5\xA5\xBD 123 caf\xC3\xA9!", true);
  } catch (const sc::Error&) {
  }
  return 0;
}
