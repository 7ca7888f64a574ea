#pragma once
// A tiny diffusers pipeline folder for img2img tests, assembled under
// SC_TEST_TMP_DIR from the golden fixtures (tests/golden/gen_stream_diffusion.py
// and gen_diffusion.py): unet/ text_encoder/ scheduler/ model_index.json from
// stream_pipeline, tokenizer/ and vae/ from the component fixtures.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace sc::test {

inline std::filesystem::path golden_fixtures() {
  return std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";
}

// with_vae false: a folder downloaded without vae/ (runs with a TAESD only).
inline std::filesystem::path tiny_img2img_pipeline(const std::string& name = "img2img_model", bool with_vae = true) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / name;
  if (fs::exists(dir / "model_index.json")) return dir;
  // ctest runs tests as parallel processes: each assembles its own copy and
  // renames it into place, so nobody sees a half-made folder.
  const fs::path tmp = fs::path(SC_TEST_TMP_DIR) / (name + ".part" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  const fs::path fixtures = golden_fixtures();
  fs::create_directories(tmp / "tokenizer");
  fs::copy(fixtures / "stream_pipeline", tmp, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  for (const char* f : {"vocab.json", "merges.txt"}) {
    fs::copy_file(fixtures / "diffusion_tokenizer" / f, tmp / "tokenizer" / f, fs::copy_options::overwrite_existing);
  }
  if (with_vae) {
    fs::create_directories(tmp / "vae");
    for (const char* f : {"config.json", "diffusion_pytorch_model.safetensors"}) {
      fs::copy_file(fixtures / "diffusion_vae" / f, tmp / "vae" / f, fs::copy_options::overwrite_existing);
    }
  }
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // fails when another process got there first: theirs is complete
  if (ec) fs::remove_all(tmp);
  return dir;
}

inline std::filesystem::path tiny_taesd() { return golden_fixtures() / "diffusion_taesd"; }

}  // namespace sc::test
