#include "engine/models/ditto/ditto_folder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "base/error.h"
#include "engine/onnx/executor.h"

namespace sc::engine::ditto {

namespace fs = std::filesystem;
using onnx::ElemType;

namespace {

constexpr ElemType kF32 = ElemType::kFloat;

std::vector<NetworkSpec> make_networks() {
  // Shapes as Ditto's wrappers feed them (core/models, core/aux_models);
  // see tests/golden/fixtures/ditto_onnx/OPS.md section 2.
  return {
      {Network::kAppearanceExtractor,
       "appearance_extractor",
       {"appearance_extractor.onnx"},
       "the portrait's 3-D appearance volume (once per avatar)",
       {{"image", kF32, {1, 3, 256, 256}}},
       1,
       {"pred"}},
      {Network::kMotionExtractor,
       "motion_extractor",
       {"motion_extractor.onnx"},
       "the portrait's keypoints, pose and expression (once per avatar)",
       {{"image", kF32, {1, 3, 256, 256}}},
       7,
       {"pitch", "yaw", "roll", "t", "exp", "scale", "kp"}},
      {Network::kWarpNetwork,
       "warp_network",
       {"warp_network.onnx", "warp_network_ori.onnx"},
       "warps the appearance volume from the source to the driving keypoints (every frame)",
       {{"feature_3d", kF32, {1, 32, 16, 64, 64}}, {"kp_source", kF32, {1, 21, 3}}, {"kp_driving", kF32, {1, 21, 3}}},
       1,
       {"out"}},
      {Network::kDecoder,
       "decoder",
       {"decoder.onnx"},
       "the SPADE decoder: warped features to a 512 x 512 face (every frame)",
       {{"feature", kF32, {1, 256, 64, 64}}},
       1,
       {"output"}},
      {Network::kStitchNetwork,
       "stitch_network",
       {"stitch_network.onnx"},
       "keeps the driven face aligned with the portrait's shoulders (every frame)",
       {{"kp_source", kF32, {1, 21, 3}}, {"kp_driving", kF32, {1, 21, 3}}},
       1,
       {"out"}},
      {Network::kLmdm,
       "lmdm",
       {"lmdm_v0.4_hubert.onnx"},
       "motion diffusion: 80-frame windows of motion from speech features",
       {{"x", kF32, {1, 80, 265}},
        {"cond_frame", kF32, {1, 265}},
        {"cond", kF32, {1, 80, -1}},
        {"time_cond", ElemType::kInt64, {1}}},
       2,
       {"pred_noise", "x_start"}},
      {Network::kHubert,
       "hubert",
       {"hubert.onnx", "hubert_streaming_fix_kv.onnx"},
       "speech features (HuBERT large) from 16 kHz audio",
       {{"input_values", kF32, {1, -1}}},
       1,
       {"encoding_out"}},
      {Network::kFaceDetector,
       "insightface_det",
       {"insightface_det.onnx", "det_10g.onnx"},
       "face detection (once per avatar)",
       {{"", kF32, {1, 3, 512, 512}}},
       9,
       {}},
      {Network::kLandmark106,
       "landmark106",
       {"landmark106.onnx", "2d106det.onnx"},
       "106 face landmarks (once per avatar)",
       {{"", kF32, {1, 3, 192, 192}}},
       1,
       {}},
      {Network::kLandmark203,
       "landmark203",
       {"landmark203.onnx"},
       "203 face landmarks for the crop (once per avatar)",
       {{"", kF32, {1, 3, 224, 224}}},
       1,
       {}},
      {Network::kBlazeFace,
       "blaze_face",
       {"blaze_face.onnx"},
       "face detection for the eye state (once per avatar)",
       {{"", kF32, {1, 128, 128, 3}}},
       2,
       {"regressors", "classificators"}},
      {Network::kFaceMesh,
       "face_mesh",
       {"face_mesh.onnx"},
       "478-point face mesh for the eye state (once per avatar)",
       {{"", kF32, {1, 256, 256, 3}}},
       1,
       {}},
  };
}

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::vector<std::string> parts;
  for (std::int64_t d : dims) parts.push_back(d < 0 ? "?" : std::to_string(d));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

}  // namespace

const std::vector<NetworkSpec>& networks() {
  static const std::vector<NetworkSpec> n = make_networks();
  return n;
}

const NetworkSpec& spec(Network id) {
  for (const NetworkSpec& s : networks())
    if (s.id == id) return s;
  throw Error("ditto: unknown network {}", static_cast<int>(id));
}

std::optional<fs::path> find_file(const fs::path& folder, Network id) {
  for (const std::string& name : spec(id).files) {
    std::error_code ec;
    const fs::path p = folder / name;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

bool looks_like_ditto_folder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return false;
  int found = 0;
  for (const NetworkSpec& s : networks()) found += find_file(folder, s.id).has_value();
  return found >= 2;
}

std::vector<std::string> signature_problems(const onnx::Model& model, const NetworkSpec& spec) {
  std::vector<std::string> problems;
  if (model.inputs.size() != spec.inputs.size()) {
    problems.push_back(
        fmt::format("has {} inputs; Ditto's {} takes {}", model.inputs.size(), spec.key, spec.inputs.size()));
  }
  for (std::size_t i = 0; i < spec.inputs.size() && i < model.inputs.size(); ++i) {
    const TensorSpec& want = spec.inputs[i];
    // Inputs the pipeline feeds by name must carry that name; the face
    // analysis nets are fed by position (their spec leaves the name empty).
    const onnx::ValueInfo* got = nullptr;
    if (want.name.empty()) {
      got = &model.inputs[i];
    } else {
      for (const onnx::ValueInfo& v : model.inputs)
        if (v.name == want.name) got = &v;
      if (!got) {
        problems.push_back(fmt::format("has no input '{}' {}", want.name, dims_string(want.dims)));
        continue;
      }
    }
    const std::string label =
        want.name.empty() ? fmt::format("input {} ('{}')", i, got->name) : fmt::format("input '{}'", want.name);
    if (got->type != want.type) {
      problems.push_back(fmt::format("{} is {}; expected {}", label, onnx::elem_type_name(got->type),
                                     onnx::elem_type_name(want.type)));
    }
    if (!got->has_shape) continue;  // nothing declared: the plan checks at run time
    bool differs = got->dims.size() != want.dims.size();
    for (std::size_t d = 0; !differs && d < want.dims.size(); ++d) {
      differs = got->dims[d].known() && want.dims[d] >= 0 && got->dims[d].value != want.dims[d];
    }
    if (differs) {
      problems.push_back(
          fmt::format("{} is {}; the pipeline feeds {}", label, got->shape_string(), dims_string(want.dims)));
    }
  }
  if (model.outputs.size() < spec.outputs) {
    problems.push_back(fmt::format("has {} outputs; the pipeline reads {}", model.outputs.size(), spec.outputs));
  }
  return problems;
}

bool FolderReport::ok() const {
  return std::all_of(files.begin(), files.end(), [](const FileReport& f) { return f.ok(); });
}

FolderReport inspect_folder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error("'{}' is not a folder", folder.string());
  FolderReport report;
  report.folder = folder;
  for (const NetworkSpec& s : networks()) {
    FileReport f;
    f.spec = &s;
    if (const auto p = find_file(folder, s.id)) {
      f.file = *p;
      try {
        const onnx::Model m = onnx::read_model(*p);
        f.bytes = static_cast<std::int64_t>(m.file_bytes + m.external_bytes);
        f.nodes = m.nodes.size();
        for (const auto& [name, c] : m.initializers) f.parameters += c.value.numel();
        f.problems = signature_problems(m, s);
        for (const onnx::Unsupported& u : onnx::find_unsupported(m))
          f.problems.push_back(fmt::format("{}: {}", u.node, u.reason));
      } catch (const Error& e) {
        f.problems.push_back(e.what());
      }
    }
    report.files.push_back(std::move(f));
  }
  return report;
}

std::string format_report(const FolderReport& report) {
  std::string t = fmt::format("folder: {}\nfamily: Ditto talking head (ditto_onnx)\n", report.folder.string());
  std::size_t missing = 0, bad = 0;
  for (const FileReport& f : report.files) {
    if (f.file.empty()) {
      ++missing;
      t += fmt::format("  {:<22} missing ({}): {}\n", f.spec->key, fmt::join(f.spec->files, " or "), f.spec->role);
      continue;
    }
    t += fmt::format("  {:<22} {} ({} nodes, {} parameters){}\n", f.spec->key, f.file.filename().string(), f.nodes,
                     f.parameters, f.problems.empty() ? "" : ":");
    if (!f.problems.empty()) ++bad;
    for (const std::string& p : f.problems) t += fmt::format("      {}\n", p);
  }
  if (report.ok()) {
    t += "status: every network is present and runs on the engine\n";
  } else {
    t += fmt::format(
        "status: {} missing, {} with problems; get the folder from the model hub page "
        "digital-avatar/ditto-talkinghead (ditto_onnx), as downloaded\n",
        missing, bad);
  }
  return t;
}

fs::path require_file(const fs::path& folder, Network id) {
  if (const auto p = find_file(folder, id)) return *p;
  const NetworkSpec& s = spec(id);
  throw Error(
      "Ditto models folder '{}' has no {} ({}); get ditto_onnx from the model hub page "
      "digital-avatar/ditto-talkinghead as downloaded",
      folder.string(), s.key, fmt::join(s.files, " or "));
}

}  // namespace sc::engine::ditto
