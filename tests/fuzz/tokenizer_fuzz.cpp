// libFuzzer target: CLIP tokenizer files and text. The first input byte picks
// the mode: even bytes tokenize the rest as a prompt with the real CLIP vocab
// (any bytes, invalid UTF-8 included) and decode ids (the text must be valid
// UTF-8); odd bytes split the rest at the first NUL into a vocab.json and a
// merges.txt and load them. Either way: ids or an sc::Error, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/tokenizers/clip_tokenizer.h"
#include "engine/tokenizers/utf8.h"

namespace {

const std::string kFixtures = std::string(SC_FUZZ_ROOT) + "/tests/golden/fixtures/diffusion_tokenizer/";

const sc::engine::ClipTokenizer& real_tokenizer() {
  static const auto tok = std::make_unique<sc::engine::ClipTokenizer>(
      sc::engine::ClipTokenizer::from_files(kFixtures + "vocab.json", kFixtures + "merges.txt", "!"));
  return *tok;
}

std::string scratch(const char* name) {
  return std::string("/tmp/sc_tokenizer_fuzz_") + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    try {
      auto ids = real_tokenizer().encode_padded(rest);
      if (ids.size() != std::size_t(real_tokenizer().max_length())) std::abort();
      // Decoding gives UTF-8 whatever the ids: these, and the input's bytes
      // read as ids in pairs (lone bytes of characters, unknown ids).
      if (sc::engine::utf8::first_invalid(real_tokenizer().decode(ids)) != std::string_view::npos) std::abort();
      std::vector<std::int64_t> raw;
      for (std::size_t i = 0; i + 1 < rest.size(); i += 2) {
        raw.push_back(static_cast<unsigned char>(rest[i]) * 256 + static_cast<unsigned char>(rest[i + 1]));
      }
      if (sc::engine::utf8::first_invalid(real_tokenizer().decode(raw, (data[0] & 2) != 0)) != std::string_view::npos) {
        std::abort();
      }
    } catch (const sc::Error&) {
    }
    return 0;
  }
  const auto split = rest.find('\0');
  const std::string vocab = scratch("vocab.json"), merges = scratch("merges.txt");
  std::ofstream(vocab, std::ios::binary) << rest.substr(0, split);
  std::ofstream(merges, std::ios::binary)
      << (split == std::string_view::npos ? std::string_view{} : rest.substr(split + 1));
  try {
    auto tok = sc::engine::ClipTokenizer::from_files(vocab, merges, "!", 16);
    auto ids = tok.encode_padded("a photo of a cat, 4k!");
    (void)ids;
  } catch (const sc::Error&) {
  }
  return 0;
}
