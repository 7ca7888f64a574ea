#include "engine/models/model_folder.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/qwen2/qwen2.h"

namespace sc::engine {
namespace {

namespace fs = std::filesystem;

std::string class_name_of(const Config& config) {
  if (config.has("_class_name")) return config.get<std::string>("_class_name");
  if (config.has("architectures")) {
    const auto a = config.get<std::vector<std::string>>("architectures");
    if (!a.empty()) return a.front();
  }
  return "";
}

// Counts a stored tensor in the report.
void count(const ManifestEntry& e, ComponentReport& r) {
  ++r.tensors;
  ++r.dtypes[e.dtype];
  r.parameters += Shape(e.shape).numel();
}

// The stored names and shapes of a weights file, read from its header only.
std::vector<ManifestEntry> header_entries(const fs::path& file, ComponentReport& r) {
  const Checkpoint checkpoint = Checkpoint::open(file);
  std::vector<ManifestEntry> entries;
  for (const std::string& name : checkpoint.names()) {
    const TensorEntry& e = checkpoint.entry(name);
    entries.push_back({name, e.dtype, e.shape});
    count(entries.back(), r);
  }
  return entries;
}

void record(const WeightSource& w, ComponentReport& r) {
  r.missing.insert(r.missing.end(), w.missing().begin(), w.missing().end());
  r.mismatched.insert(r.mismatched.end(), w.mismatched().begin(), w.mismatched().end());
  for (const std::string& u : w.unused()) r.unused.push_back(u);
}

// Manifest lines as header entries, counted like a file's.
std::vector<ManifestEntry> manifest_entries(const fs::path& file, ComponentReport& r) {
  std::vector<ManifestEntry> entries = load_manifest(file);
  for (const ManifestEntry& e : entries) count(e, r);
  return entries;
}

// LLaVA-OneVision's parts by tensor name (either layout).
std::vector<std::pair<std::string, std::int64_t>> llava_parts(const std::vector<ManifestEntry>& entries) {
  std::int64_t vision = 0, projector = 0, language = 0;
  for (const ManifestEntry& e : entries) {
    const std::int64_t n = Shape(e.shape).numel();
    if (e.name.find("vision_tower.") != std::string::npos) {
      vision += n;
    } else if (e.name.find("multi_modal_projector.") != std::string::npos || e.name.ends_with("image_newline")) {
      projector += n;
    } else {
      language += n;
    }
  }
  return {{"vision tower", vision}, {"projector", projector}, {"language model", language}};
}

ComponentReport inspect_component(const fs::path& dir, const std::string& name, const std::string& variant,
                                  const fs::path& manifest = {}) {
  ComponentReport r;
  r.name = name;
  try {
    if (!fs::is_directory(dir)) throw Error("folder {} is missing", dir.string());
    const bool has_config = fs::is_regular_file(dir / "config.json");
    bool has_weights = !manifest.empty();
    if (!has_weights) {
      try {
        find_weights_file(dir, variant);
        has_weights = true;
      } catch (const Error&) {
      }
    }
    if (!has_weights && fs::is_regular_file(dir / "taesd_decoder.safetensors")) {
      // The original TAESD release: two files, no key prefixes, maybe no config.
      r.class_name = "AutoencoderTiny (original release files)";
      const TaesdConfig config =
          has_config ? TaesdConfig::from_config(Config::load(dir / "config.json")) : TaesdConfig{};
      for (const char* part : {"taesd_encoder.safetensors", "taesd_decoder.safetensors"}) {
        if (!fs::is_regular_file(dir / part)) throw Error("{} is missing", (dir / part).string());
        WeightSource w = WeightSource::from_manifest(header_entries(dir / part, r), (dir / part).string(),
                                                     WeightSource::Mode::kSurvey);
        if (std::string(part) == "taesd_encoder.safetensors") {
          TaesdEncoder::load(w, config, "");
        } else {
          TaesdDecoder::load(w, config, "", 1);
        }
        record(w, r);
      }
      r.weights = dir;
      return r;
    }
    // A CLIP tokenizer/ folder; a model folder may carry a vocab.json and
    // merges.txt beside its weights too (Qwen2's slow tokenizer files).
    if (!has_weights && (fs::is_regular_file(dir / "vocab.json") || fs::is_regular_file(dir / "merges.txt"))) {
      r.class_name = "CLIPTokenizer";
      const ClipTokenizer tok = ClipTokenizer::load(dir);
      r.weights = dir / "vocab.json";
      r.tensors = 0;
      r.dtypes["vocab"] = static_cast<std::int64_t>(tok.vocab_size());
      return r;
    }
    const Config config = Config::load(dir / "config.json");
    r.class_name = class_name_of(config);
    r.weights = manifest.empty() ? find_weights_file(dir, variant) : manifest;
    const std::vector<ManifestEntry> entries =
        manifest.empty() ? header_entries(r.weights, r) : manifest_entries(manifest, r);
    WeightSource w = WeightSource::from_manifest(entries, r.weights.string(), WeightSource::Mode::kSurvey);
    if (r.class_name == "UNet2DConditionModel") {
      UNet2DCondition::load(w, UNetConfig::from_config(config));
    } else if (r.class_name == "CLIPTextModel") {
      ClipTextModel::load(w, ClipTextConfig::from_config(config));
    } else if (r.class_name == "AutoencoderKL") {
      AutoencoderKl::load(w, AutoencoderKlConfig::from_config(config));
    } else if (r.class_name == "AutoencoderTiny") {
      Taesd::load(w, TaesdConfig::from_config(config));
    } else if (r.class_name == "LlavaOnevisionForConditionalGeneration") {
      r.parts = llava_parts(entries);
      LlavaOnevisionModel::load(w, LlavaOnevisionConfig::from_config(config));
    } else if (r.class_name == "Qwen2ForCausalLM") {
      Qwen2Model::load(w, Qwen2Config::from_config(config));
    } else {
      throw Error("{}: class \"{}\" is not a model StreamCanvas loads", (dir / "config.json").string(), r.class_name);
    }
    record(w, r);
  } catch (const Error& e) {
    r.error = e.what();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

std::string family_of_unet(const fs::path& unet_dir) {
  try {
    return unet_family(UNetConfig::from_config(Config::load(unet_dir / "config.json")));
  } catch (const Error&) {
    return "unknown (no readable unet/config.json)";
  }
}

constexpr const char* kPipelineComponents[] = {"unet", "text_encoder", "tokenizer", "vae"};

}  // namespace

std::string unet_family(const UNetConfig& c) {
  if (c.cross_attention_dim == 768) return "SD 1.x";
  if (c.cross_attention_dim == 1024) return "SD 2.x / sd-turbo";
  return fmt::format("unknown (UNet cross_attention_dim {})", c.cross_attention_dim);
}

bool ModelReport::ok() const {
  if (components.empty()) return false;
  for (const ComponentReport& c : components) {
    if (!c.ok()) return false;
  }
  return true;
}

namespace {

// "LLaVA-OneVision (SigLIP 26 layers of 1152 + Qwen2 24 layers of 896)".
std::string llava_family(const fs::path& folder) {
  try {
    const LlavaOnevisionConfig c = LlavaOnevisionConfig::from_config(Config::load(folder / "config.json"));
    return fmt::format("LLaVA-OneVision (SigLIP {} layers of {} + Qwen2 {} layers of {})", c.vision.num_hidden_layers,
                       c.vision.hidden_size, c.text.num_hidden_layers, c.text.hidden_size);
  } catch (const Error&) {
    return "LLaVA-OneVision (config unreadable)";
  }
}

}  // namespace

ModelReport inspect_model(const fs::path& folder, const std::string& variant, const fs::path& manifest) {
  if (!fs::is_directory(folder)) throw Error("not a model folder: {}", folder.string());
  ModelReport report;
  report.folder = folder;
  if (fs::is_regular_file(folder / "model_index.json")) {
    if (!manifest.empty()) {
      throw Error("{}: a manifest stands in for one component's weights; this is a pipeline folder", folder.string());
    }
    for (const char* name : kPipelineComponents)
      report.components.push_back(inspect_component(folder / name, name, variant));
    report.family = family_of_unet(folder / "unet");
    return report;
  }
  ComponentReport c = inspect_component(folder, "", variant, manifest);
  if (c.class_name.rfind("AutoencoderTiny", 0) == 0) {
    report.family = "TAESD";
  } else if (c.class_name == "LlavaOnevisionForConditionalGeneration") {
    report.family = llava_family(folder);
  } else if (c.class_name == "Qwen2ForCausalLM") {
    report.family = "Qwen2";
  } else if (c.class_name == "UNet2DConditionModel") {
    report.family = family_of_unet(folder);
  } else {
    report.family = c.class_name.empty() ? "unknown" : c.class_name;
  }
  report.components.push_back(std::move(c));
  return report;
}

std::string format_report(const ModelReport& report) {
  std::string out = fmt::format("folder: {}\nfamily: {}\n", report.folder.string(), report.family);
  for (const ComponentReport& c : report.components) {
    out += fmt::format("\n[{}] {}\n", c.name.empty() ? "component" : c.name,
                       c.class_name.empty() ? "(unknown class)" : c.class_name);
    if (!c.weights.empty()) out += fmt::format("  weights: {}\n", c.weights.string());
    if (c.class_name == "CLIPTokenizer") {
      if (c.error.empty()) out += fmt::format("  vocabulary: {} tokens\n", c.dtypes.at("vocab"));
    } else if (c.tensors > 0) {
      std::string dtypes;
      for (const auto& [d, n] : c.dtypes) dtypes += fmt::format("{}{} x{}", dtypes.empty() ? "" : ", ", d, n);
      out += fmt::format("  tensors: {}  parameters: {} ({:.1f}M)  dtypes: {}\n", c.tensors, c.parameters,
                         static_cast<double>(c.parameters) / 1e6, dtypes);
    }
    if (!c.error.empty()) out += fmt::format("  error: {}\n", c.error);
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      out += fmt::format("  {}: {}\n", what, names.size());
      const std::size_t shown = std::min<std::size_t>(names.size(), 20);
      for (std::size_t i = 0; i < shown; ++i) out += fmt::format("    {}\n", names[i]);
      if (shown < names.size()) out += fmt::format("    ... and {} more\n", names.size() - shown);
    };
    if (!c.parts.empty()) {
      std::string parts;
      for (const auto& [part, n] : c.parts)
        parts += fmt::format("{}{} {:.1f}M", parts.empty() ? "" : ", ", part, static_cast<double>(n) / 1e6);
      out += fmt::format("  parts: {}\n", parts);
    }
    list("missing", c.missing);
    list("wrong shape", c.mismatched);
    list("unused", c.unused);
    if (c.ok()) out += "  status: complete\n";
  }
  out += fmt::format("\n{}\n", report.ok() ? "OK: every component loads" : "PROBLEMS: see above");
  return out;
}

DiffusionPipelineModels load_diffusers_pipeline(const fs::path& folder, const std::string& variant,
                                                const Placement& placement, VaeNeed vae) {
  if (!fs::is_directory(folder)) throw Error("not a model folder: {}", folder.string());
  if (!fs::is_regular_file(folder / "model_index.json")) {
    throw Error("{}: no model_index.json; expected a diffusers pipeline folder", folder.string());
  }
  const bool has_vae = fs::is_directory(folder / "vae");
  for (const char* name : kPipelineComponents) {
    if (std::string_view(name) == "vae" && !has_vae && vae == VaeNeed::kOptional) continue;
    if (!fs::is_directory(folder / name)) throw Error("{}: the {}/ folder is missing", folder.string(), name);
  }
  return DiffusionPipelineModels{
      family_of_unet(folder / "unet"), ClipTokenizer::load(folder / "tokenizer"),
      ClipTextModel::load(folder / "text_encoder", variant, placement),
      UNet2DCondition::load(folder / "unet", variant, placement),
      has_vae ? std::optional<AutoencoderKl>(AutoencoderKl::load(folder / "vae", variant, placement)) : std::nullopt};
}

}  // namespace sc::engine
