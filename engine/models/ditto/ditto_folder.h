#pragma once
// Ditto's published `ditto_onnx` folder (model hub digital-avatar/
// ditto-talkinghead) as users download it: which graph files it holds, what
// each network takes and gives (names, types and shapes from Ditto's own
// wrappers, tests/golden/fixtures/ditto_onnx/OPS.md section 2), and a check
// of a folder against that: every file present, each graph's declared inputs
// what the pipeline feeds, every node one the engine runs. The typed
// networks (networks.h) load through the same table, so a folder that
// passes here is one the talking-head pipeline can open.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/onnx/reader.h"

namespace sc::engine::ditto {

enum class Network {
  kAppearanceExtractor,
  kMotionExtractor,
  kWarpNetwork,
  kDecoder,
  kStitchNetwork,
  kLmdm,
  kHubert,
  kFaceDetector,  // insightface det (SCRFD, 3 strides)
  kLandmark106,
  kLandmark203,
  kBlazeFace,
  kFaceMesh,
};

// One graph input or output: its name, ONNX type and shape; -1 marks an axis
// the pipeline sets (HuBERT's sample count) or a file may leave symbolic.
struct TensorSpec {
  std::string name;
  onnx::ElemType type = onnx::ElemType::kFloat;
  std::vector<std::int64_t> dims;
};

struct NetworkSpec {
  Network id;
  std::string key;                        // "warp_network", also its label in reports
  std::vector<std::string> files;         // accepted file names, preferred first
  std::string role;                       // one line: what the pipeline uses it for
  std::vector<TensorSpec> inputs;         // fed by name: names, types and shapes are checked
  std::size_t outputs = 0;                // read by position: their count is checked
  std::vector<std::string> output_names;  // as the published graphs name them, for documentation
};

// Every network of the folder, in pipeline order.
const std::vector<NetworkSpec>& networks();
const NetworkSpec& spec(Network id);

// The first of the network's accepted files that exists in the folder.
std::optional<std::filesystem::path> find_file(const std::filesystem::path& folder, Network id);

// True when the folder holds at least two of the networks' files: enough to
// call it a Ditto folder (and then report what is missing) rather than a
// folder of unrelated graphs.
bool looks_like_ditto_folder(const std::filesystem::path& folder);

// Why a graph's declared inputs and outputs are not what the pipeline feeds
// and reads (empty when they are). A concrete dimension that differs is
// named, as is a missing input: either means a different version of the
// networks than the one the pipeline follows.
std::vector<std::string> signature_problems(const onnx::Model& model, const NetworkSpec& spec);

struct FileReport {
  const NetworkSpec* spec = nullptr;
  std::filesystem::path file;  // empty when missing
  std::int64_t bytes = 0;
  std::size_t nodes = 0;
  std::int64_t parameters = 0;
  std::vector<std::string> problems;  // signature, unsupported nodes, read errors
  bool ok() const { return !file.empty() && problems.empty(); }
};

struct FolderReport {
  std::filesystem::path folder;
  std::vector<FileReport> files;  // one per network, in networks() order
  bool ok() const;
};

// Reads each graph's header and nodes (weights stay mapped, not copied);
// never throws for problems inside the folder (they go into the report).
FolderReport inspect_folder(const std::filesystem::path& folder);
std::string format_report(const FolderReport& report);

// The path of a network's graph, or an sc::Error naming the folder, the
// files tried and where to get them.
std::filesystem::path require_file(const std::filesystem::path& folder, Network id);

}  // namespace sc::engine::ditto
