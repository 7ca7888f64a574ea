#pragma once
// Shared by the byte-level BPE goldens (bpe_tokenizer_test.cpp on the
// trained fixture, qwen2_vocab_test.cpp on the real Qwen vocabulary): the
// stream decoder against the `tokenizers` library's DecodeStream.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizers/bpe_tokenizer.h"

namespace sc::engine::test {

struct StreamDecodeCounts {
  std::size_t steps = 0;  // ids pushed
  std::size_t held = 0;   // steps that returned nothing (a partial character), specials not skipped
};

// For every case ({"ids", "stream", "stream_skip_special", "decoded",
// "decoded_skip_special", "text"}), in both skip modes: each push returns the
// reference's piece (null: nothing), nothing is held at the end, and the
// pieces plus flush() are the decoded text.
inline StreamDecodeCounts expect_stream_decodes_match(const BpeTokenizer& tokenizer, const nlohmann::json& cases) {
  StreamDecodeCounts n;
  for (bool skip : {false, true}) {
    for (const nlohmann::json& c : cases) {
      const nlohmann::json& steps = c[skip ? "stream_skip_special" : "stream"];
      const auto ids = c["ids"].get<std::vector<std::int64_t>>();
      EXPECT_EQ(steps.size(), ids.size()) << c["text"].dump();
      if (steps.size() != ids.size()) continue;
      StreamDecoder d(tokenizer, skip);
      std::string all;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string got = d.push(ids[i]);
        const std::string want = steps[i].is_null() ? "" : steps[i].get<std::string>();
        EXPECT_EQ(got, want) << c["text"].dump() << " step " << i << " id " << ids[i]
                             << (skip ? " (skipping specials)" : "");
        if (!skip && steps[i].is_null()) ++n.held;
        ++n.steps;
        all += got;
      }
      EXPECT_FALSE(d.holding()) << c["text"].dump();
      all += d.flush();
      EXPECT_EQ(all, c[skip ? "decoded_skip_special" : "decoded"].get<std::string>()) << c["text"].dump();
    }
  }
  return n;
}

}  // namespace sc::engine::test
