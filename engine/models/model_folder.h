#pragma once
// Model folders as users download them: a diffusers pipeline folder
// (model_index.json + unet/, text_encoder/, tokenizer/, vae/) or a single
// component folder (config.json + weights, e.g. TAESD). `inspect_model` reads
// configs and safetensors headers only (no weights), runs each component's
// loader as a dry run and reports what it found: the family, the components,
// parameter counts, dtypes, and the missing, misshapen and unused tensors.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/models/clip_text/clip_text.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/models/vae/autoencoder_kl.h"
#include "engine/tokenizers/clip_tokenizer.h"

namespace sc::engine {

struct ComponentReport {
  std::string name;        // "unet", "text_encoder", ... ("" for a single component folder)
  std::string class_name;  // from config.json's _class_name / architectures
  std::filesystem::path weights;
  std::int64_t tensors = 0;
  std::int64_t parameters = 0;                 // elements of every stored tensor
  std::map<std::string, std::int64_t> dtypes;  // stored dtype -> tensor count
  std::vector<std::string> missing;            // asked for, not stored
  std::vector<std::string> mismatched;         // stored with another shape
  std::vector<std::string> unused;             // stored, never asked for
  // Parameters per part, for models of several parts (LLaVA-OneVision:
  // "vision tower", "projector", "language model"), in that order.
  std::vector<std::pair<std::string, std::int64_t>> parts;
  std::string error;  // why it could not be checked at all
  bool ok() const { return error.empty() && missing.empty() && mismatched.empty() && unused.empty(); }
};

struct ModelReport {
  std::filesystem::path folder;
  std::string family;  // "SD 1.x", "SD 2.x / sd-turbo", "TAESD", ...
  std::vector<ComponentReport> components;
  bool ok() const;
};

// "SD 1.x" (cross-attention 768), "SD 2.x / sd-turbo" (1024), else "unknown (...)".
std::string unet_family(const UNetConfig& config);

// Never throws for problems inside the folder (they go into the report);
// throws only when `folder` is not a folder (or a manifest is given for a
// pipeline folder). A `manifest` (lines "<name>
// <dtype> <shape>", tests/golden/manifests) stands in for the weights of a
// single-component folder: a folder holding only a published config.json is
// checked against the published checkpoint's tensor list.
ModelReport inspect_model(const std::filesystem::path& folder, const std::string& variant = "",
                          const std::filesystem::path& manifest = {});
// Human-readable, one component per block.
std::string format_report(const ModelReport& report);

// Everything live img2img needs from a diffusers pipeline folder.
struct DiffusionPipelineModels {
  std::string family;
  ClipTokenizer tokenizer;
  ClipTextModel text_encoder;
  UNet2DCondition unet;
  std::optional<AutoencoderKl> vae;  // absent only when the caller allowed it (a TAESD codes the frames)
};
enum class VaeNeed { kRequired, kOptional };
// Throws sc::Error naming the missing folder, file or tensor.
// placement: where the weights go (CPU f32 by default; CUDA f16 for the GPU path).
// vae: kOptional lets a folder without vae/ load (a broken vae/ still fails).
DiffusionPipelineModels load_diffusers_pipeline(const std::filesystem::path& folder, const std::string& variant = "",
                                                const Placement& placement = {}, VaeNeed vae = VaeNeed::kRequired);

}  // namespace sc::engine
