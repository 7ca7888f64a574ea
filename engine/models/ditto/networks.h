#pragma once
// Ditto's networks as the talking-head pipeline calls them: each graph of
// the ditto_onnx folder loaded through the ONNX importer once, its declared
// inputs checked against what the pipeline feeds (ditto_folder.h) before any
// weight is placed, then run with named inputs. Typed calls for the per-frame
// chain (stitch, warp, decode) and the per-avatar extractors.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/models/ditto/ditto_folder.h"
#include "engine/onnx/executor.h"
#include "engine/tensor.h"

namespace sc::engine::ditto {

class OnnxNetwork {
 public:
  // Throws sc::Error naming the file when it is missing, unreadable, holds a
  // different version of the network (its inputs differ) or a node the
  // engine cannot run.
  static OnnxNetwork load(const std::filesystem::path& folder, Network id, const onnx::ExecutorOptions& options = {});

  const NetworkSpec& spec() const { return *spec_; }
  const std::filesystem::path& file() const { return file_; }
  onnx::Executor& executor() { return *executor_; }

  // Inputs by name (the spec's names; the face nets' one input under any
  // name); the outputs in graph order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);
  // The one input of a single-input network.
  std::vector<Tensor> run(const Tensor& input);

 private:
  const NetworkSpec* spec_ = nullptr;
  std::filesystem::path file_;
  std::vector<std::string> input_names_, output_names_;
  std::unique_ptr<onnx::Executor> executor_;
};

// The motion extractor's outputs (LivePortrait's kp_info): head pose as 66
// bins each, translation, expression deltas and scale, canonical keypoints.
struct KeypointInfo {
  Tensor pitch, yaw, roll;  // [1, 66] logits over 3-degree bins
  Tensor t;                 // [1, 3]
  Tensor exp;               // [1, 63] = 21 x 3
  Tensor scale;             // [1, 1]
  Tensor kp;                // [1, 63] canonical keypoints
};

// The per-avatar and per-frame networks of the LivePortrait half.
struct LivePortrait {
  OnnxNetwork appearance, motion, warp, decoder, stitch;

  static LivePortrait load(const std::filesystem::path& folder, const onnx::ExecutorOptions& options = {});
  // image [1, 3, 256, 256] RGB in [0, 1].
  Tensor appearance_volume(const Tensor& image);  // -> [1, 32, 16, 64, 64]
  KeypointInfo keypoints(const Tensor& image);
  // kp_source, kp_driving [1, 21, 3].
  Tensor stitched(const Tensor& kp_source, const Tensor& kp_driving);                      // -> [1, 21, 3]
  Tensor warped(const Tensor& volume, const Tensor& kp_source, const Tensor& kp_driving);  // -> [1, 256, 64, 64]
  Tensor decoded(const Tensor& features);  // -> [1, 3, 512, 512] in [0, 1]
};

}  // namespace sc::engine::ditto
