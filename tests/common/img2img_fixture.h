#pragma once
// A tiny diffusers pipeline folder for img2img tests, assembled under
// SC_TEST_TMP_DIR from the golden fixtures (tests/golden/gen_stream_diffusion.py
// and gen_diffusion.py): unet/ text_encoder/ scheduler/ model_index.json from
// stream_pipeline, tokenizer/ and vae/ from the component fixtures.
#include <filesystem>
#include <string>

namespace sc::test {

inline std::filesystem::path golden_fixtures() {
  return std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";
}

inline std::filesystem::path tiny_img2img_pipeline(const std::string& name = "img2img_model") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / name;
  if (fs::exists(dir / "model_index.json")) return dir;
  const fs::path fixtures = golden_fixtures();
  fs::create_directories(dir / "tokenizer");
  fs::copy(fixtures / "stream_pipeline", dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  for (const char* f : {"vocab.json", "merges.txt"}) {
    fs::copy_file(fixtures / "diffusion_tokenizer" / f, dir / "tokenizer" / f, fs::copy_options::overwrite_existing);
  }
  fs::create_directories(dir / "vae");
  for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors"}) {
    fs::copy_file(fixtures / "diffusion_vae" / f, dir / "vae" / f, fs::copy_options::overwrite_existing);
  }
  return dir;
}

inline std::filesystem::path tiny_taesd() { return golden_fixtures() / "diffusion_taesd"; }

}  // namespace sc::test
