// libFuzzer target: the model configurations users download, read by the
// loaders' own parsers (LLaVA-OneVision's config.json with its SigLIP
// vision_config and Qwen2 text_config, a Qwen2 config.json, the video
// processor's preprocessor JSON) and the tensor-manifest format that
// `models inspect --manifest` reads. Only sc::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "engine/config.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/llava_onevision/video_processor.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/models/siglip/siglip.h"
#include "engine/models/weights.h"

namespace {

template <typename Fn>
void quietly(Fn&& fn) {
  try {
    fn();
  } catch (const sc::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  quietly([&] { (void)sc::engine::parse_manifest(text, "fuzz.txt"); });
  try {
    const sc::engine::Config c = sc::engine::Config::parse(text, "fuzz.json");
    quietly([&] {
      const sc::engine::LlavaOnevisionConfig l = sc::engine::LlavaOnevisionConfig::from_config(c);
      (void)l.tokens_per_frame();
      (void)l.video_tokens(8);
    });
    quietly([&] { (void)sc::engine::Qwen2Config::from_config(c); });
    quietly([&] { (void)sc::engine::SiglipVisionConfig::from_config(c); });
    quietly([&] { (void)sc::engine::SiglipVisionConfig::from_config(c.child("vision_config")); });
    quietly([&] { (void)sc::engine::VideoProcessorConfig::from_config(c); });
  } catch (const sc::Error&) {
  }
  return 0;
}
