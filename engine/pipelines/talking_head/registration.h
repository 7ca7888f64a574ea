#pragma once
// Avatar registration, once per portrait (app/modes/talking_head/PIPELINE.md
// 2.1 to 2.6, 2.8): the 1920-pixel limit, face detection (the largest face),
// 106 landmarks in a box crop, 203 landmarks in a rotated 224 crop, the
// rotated 512 crop, its 256 image for the motion and appearance extractors,
// and the paste-back mask in the frame. The networks come in as calls (the
// pipeline binds engine/models/ditto's OnnxNetworks; tests fake them). Images
// are [1, 3, H, W] RGB floats of 0..255 on any device.
#include <functional>
#include <vector>

#include "engine/models/ditto/face_detect.h"
#include "engine/pipelines/talking_head/crop.h"
#include "engine/pipelines/talking_head/motion_stitch.h"
#include "engine/tensor.h"

namespace sc::engine::talking_head {

using NetworkCall = std::function<std::vector<Tensor>(const Tensor& input)>;

struct RegistrationNets {
  NetworkCall detector;     // insightface_det: [1, 3, 512, 512] -> 9 outputs
  NetworkCall landmark106;  // [1, 3, 192, 192] raw 0..255 (B, G, R) -> fc1 [1, 212]
  NetworkCall landmark203;  // [1, 3, 224, 224] / 255 -> landmarks [1, 406]
  NetworkCall motion;       // [1, 3, 256, 256] / 255 -> pitch, yaw, roll, t, exp, scale, kp
  NetworkCall appearance;   // the same input -> the volume [1, 32, 16, 64, 64]
};

struct RegistrationOptions {
  int max_size = 1920;
  ditto::DetectorOptions detector;
  // Ditto gives the detector and the 106-point net B, G, R planes (its RGB
  // image through OpenCV's channel swap, PIPELINE.md 2.2); false gives R, G, B.
  bool detector_bgr = true;
};

struct Avatar {
  Tensor frame;  // the portrait after the size limit: the paste-back background
  ditto::Face face;
  int faces_found = 0;
  Affine m_o2c{}, m_c2o{};  // the 512 crop
  Tensor crop;              // [1, 3, 512, 512], 0..255 whole values
  Tensor input;             // [1, 3, 256, 256] in [0, 1]
  Tensor volume;            // the appearance extractor's f_s
  SourceMotion motion;      // the motion extractor's x_s_info
  Tensor frame_mask;        // [1, 1, H, W]: the crop mask in the frame
};

// 2.1: the size an image is registered at: the longer side at most
// max_size (the other rounded half to even), both even.
std::pair<int, int> registration_size(int width, int height, int max_size);

// Values rounded to whole 0..255 as an 8-bit image holds them.
Tensor round_to_u8(const Tensor& x);

// Throws sc::Error for an image without a face (naming it) or with landmarks
// that give no crop; several faces: the largest, and faces_found says how many.
Avatar register_avatar(const Tensor& rgb, const RegistrationNets& nets, const RegistrationOptions& options = {});

}  // namespace sc::engine::talking_head
