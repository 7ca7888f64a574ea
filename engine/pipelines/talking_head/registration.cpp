#include "engine/pipelines/talking_head/registration.h"

#include <cmath>

#include "base/error.h"
#include "engine/ops.h"
#include "engine/pipelines/talking_head/paste_back.h"

namespace sc::engine::talking_head {

namespace {

std::vector<float> host(const Tensor& t) {
  return to_dtype(t.device() == Device::kCpu ? t : t.to(Device::kCpu), DType::kF32).to_vector<float>();
}

Tensor channels_reversed(const Tensor& rgb) {
  const std::vector<Tensor> planes = {slice(rgb, 1, 2, 3), slice(rgb, 1, 1, 2), slice(rgb, 1, 0, 1)};
  return concat(planes, 1);
}

// Landmark outputs mapped back to the image through the crop's inverse.
std::vector<Point> to_image(const std::vector<float>& xy, std::size_t points, double scale, double offset,
                            const Affine& crop_to_image) {
  if (xy.size() < 2 * points) {
    throw Error("talking head: the landmark net gave {} values; {} points need {}", xy.size(), points, 2 * points);
  }
  std::vector<Point> p(points);
  const std::size_t first = xy.size() / 2 - points;  // the last `points` pairs
  for (std::size_t i = 0; i < points; ++i) {
    const double x = (xy[2 * (first + i)] + offset) * scale, y = (xy[2 * (first + i) + 1] + offset) * scale;
    const auto q = apply(crop_to_image, x, y);
    p[i] = {q[0], q[1]};
  }
  return p;
}

}  // namespace

std::pair<int, int> registration_size(int width, int height, int max_size) {
  if (width < 2 || height < 2) throw Error("talking head: a {}x{} portrait is too small", width, height);
  double w = width, h = height;
  if (std::max(w, h) > max_size) {
    const double k = max_size / std::max(w, h);
    if (w >= h) {
      h = std::nearbyint(h * k);  // Python's round: half to even
      w = max_size;
    } else {
      w = std::nearbyint(w * k);
      h = max_size;
    }
  }
  return {static_cast<int>(w) / 2 * 2, static_cast<int>(h) / 2 * 2};
}

Tensor round_to_u8(const Tensor& x) {
  const Tensor c = add_scalar(clamp(x, 0.0f, 255.0f), 0.5f);
  return to_dtype(to_dtype(c, DType::kI32), x.dtype());  // truncation of v + 0.5 >= 0: rounding
}

Avatar register_avatar(const Tensor& rgb_in, const RegistrationNets& nets, const RegistrationOptions& o) {
  if (rgb_in.rank() != 4 || rgb_in.dim(0) != 1 || rgb_in.dim(1) != 3) {
    throw Error("talking head: the portrait must be [1, 3, H, W] RGB; got {}", rgb_in.describe());
  }
  Avatar a;
  // 2.1 The size limit.
  const auto [w, h] = registration_size(static_cast<int>(rgb_in.dim(3)), static_cast<int>(rgb_in.dim(2)), o.max_size);
  if (w != rgb_in.dim(3) || h != rgb_in.dim(2)) {
    Resize2dParams p;
    p.out_h = h;
    p.out_w = w;
    p.mode = ResizeMode::kLinear;
    a.frame = round_to_u8(resize2d(rgb_in, p));
  } else {
    a.frame = rgb_in;
  }
  const Tensor net_order = o.detector_bgr ? channels_reversed(a.frame) : a.frame;
  // 2.2 Faces; the largest.
  const ditto::Letterbox box = ditto::letterbox_for(w, h, o.detector.input_size);
  const std::vector<Tensor> det = nets.detector(ditto::detector_input(net_order, box, o.detector.input_size));
  const std::vector<ditto::Face> faces = ditto::decode_faces(det, box, o.detector);
  const ditto::Face* face = ditto::largest_face(faces);
  if (!face) throw Error("talking head: no face found in the portrait (scores below {})", o.detector.score_threshold);
  a.face = *face;
  a.faces_found = static_cast<int>(faces.size());
  // 2.3 106 landmarks in the box's crop.
  const Affine m106 = landmark106_transform(face->box);
  const Tensor c192 = round_to_u8(warp_affine(net_order, m106, 192, 192));
  const std::vector<Point> p106 = to_image(host(nets.landmark106(c192).at(0)), 106, 96.0, 1.0, invert(m106));
  // 2.5 203 landmarks in the rotated 224 crop.
  const Affine m224 = crop_transform(p106, LandmarkSet::k106, {224, 1.5, -0.1, true});
  const Tensor c224 = round_to_u8(warp_affine(a.frame, m224, 224, 224));
  const std::vector<Point> p203 =
      to_image(host(nets.landmark203(scale(c224, 1.0f / 255.0f)).at(0)), 203, 224.0, 0.0, invert(m224));
  // The 512 crop and its 256 image (a 2 x 2 box mean, rounded as 8-bit).
  a.m_o2c = crop_transform(p203, LandmarkSet::k203, {512, 2.3, -0.125, true});
  a.m_c2o = invert(a.m_o2c);
  a.crop = round_to_u8(warp_affine(a.frame, a.m_o2c, 512, 512));
  Pool2dParams pool;
  pool.kernel = {2, 2};
  pool.stride = {2, 2};
  a.input = scale(round_to_u8(avg_pool2d(a.crop, pool)), 1.0f / 255.0f);
  // 2.6 The extractors.
  a.volume = nets.appearance(a.input).at(0);
  const std::vector<Tensor> kp = nets.motion(a.input);
  if (kp.size() < 7) throw Error("talking head: the motion extractor gave {} outputs; 7 expected", kp.size());
  auto fill = [](const Tensor& t, std::span<float> dst, const char* what) {
    const std::vector<float> v = host(t);
    if (v.size() != dst.size())
      throw Error("talking head: the motion extractor's {} has {} values; {} expected", what, v.size(), dst.size());
    std::copy(v.begin(), v.end(), dst.begin());
  };
  fill(kp[0], a.motion.pitch, "pitch");
  fill(kp[1], a.motion.yaw, "yaw");
  fill(kp[2], a.motion.roll, "roll");
  fill(kp[3], a.motion.t, "t");
  fill(kp[4], a.motion.exp, "exp");
  float s = 0;
  fill(kp[5], std::span<float>(&s, 1), "scale");
  a.motion.scale = s;
  std::array<float, 63> canonical{};
  fill(kp[6], canonical, "kp");
  for (int k = 0; k < ditto::kKeypoints; ++k)
    for (int c = 0; c < 3; ++c)
      a.motion.kp[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)] =
          canonical[static_cast<std::size_t>(3 * k + c)];
  // 2.8 The mask in the frame (constant for a portrait).
  a.frame_mask = to_frame(paste_mask(512).to(a.frame.device()), a.m_c2o, w, h);
  return a;
}

}  // namespace sc::engine::talking_head
