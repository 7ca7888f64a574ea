#include "engine/pipelines/talking_head/avatar_io.h"

#include <cstring>
#include <vector>

#include "base/error.h"
#include "engine/safetensors.h"

namespace sc::engine::talking_head {
namespace {

constexpr const char* kFormat = "streamcanvas-avatar-1";

template <std::size_t N>
Tensor floats(const std::array<float, N>& a) {
  return Tensor::from_vector({static_cast<std::int64_t>(N)}, std::vector<float>(a.begin(), a.end()));
}

template <std::size_t N>
void read_floats(const SafetensorsFile& f, const char* name, std::array<float, N>& out) {
  const Tensor t = f.load(name, Shape{static_cast<std::int64_t>(N)});
  std::memcpy(out.data(), t.data<float>(), N * sizeof(float));
}

Tensor affine_bits(const Affine& m) {
  std::vector<std::int64_t> bits(9);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) std::memcpy(&bits[static_cast<std::size_t>(3 * r + c)], &m[r][c], sizeof(double));
  return Tensor::from_vector_i64({3, 3}, bits);
}

Affine read_affine(const SafetensorsFile& f, const char* name) {
  const Tensor t = f.load(name, Shape{3, 3}, DType::kI64);
  Affine m{};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) std::memcpy(&m[r][c], t.data<std::int64_t>() + 3 * r + c, sizeof(double));
  return m;
}

}  // namespace

void save_avatar(const std::filesystem::path& path, const Avatar& a, const std::map<std::string, std::string>& meta) {
  std::map<std::string, Tensor> t;
  t["frame"] = a.frame;
  t["crop"] = a.crop;
  t["input"] = a.input;
  t["volume"] = a.volume;
  t["frame_mask"] = a.frame_mask;
  t["face.box"] = floats(a.face.box);
  t["face.points"] = floats(a.face.points);
  t["face.score"] = Tensor::from_vector({1}, std::vector<float>{a.face.score});
  t["faces_found"] = Tensor::from_vector_i64({1}, std::vector<std::int64_t>{a.faces_found});
  t["m_o2c"] = affine_bits(a.m_o2c);
  t["m_c2o"] = affine_bits(a.m_c2o);
  t["motion.pitch"] = floats(a.motion.pitch);
  t["motion.yaw"] = floats(a.motion.yaw);
  t["motion.roll"] = floats(a.motion.roll);
  t["motion.t"] = floats(a.motion.t);
  t["motion.exp"] = floats(a.motion.exp);
  t["motion.scale"] = Tensor::from_vector({1}, std::vector<float>{a.motion.scale});
  std::vector<float> kp;
  for (const auto& p : a.motion.kp) kp.insert(kp.end(), p.begin(), p.end());
  t["motion.kp"] = Tensor::from_vector({static_cast<std::int64_t>(a.motion.kp.size()), 3}, kp);
  std::map<std::string, std::string> m = meta;
  m["format"] = kFormat;
  write_safetensors(path, t, m);
}

Avatar load_avatar(const std::filesystem::path& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const auto& meta = f.metadata();
  const auto it = meta.find("format");
  if (it == meta.end() || it->second != kFormat) throw Error("{}: not a {} file", path.string(), kFormat);
  Avatar a;
  a.frame = f.load("frame");
  if (a.frame.rank() != 4 || a.frame.dim(0) != 1 || a.frame.dim(1) != 3)
    throw Error("{}: frame is {}, not [1, 3, H, W]", path.string(), a.frame.describe());
  const std::int64_t h = a.frame.dim(2), w = a.frame.dim(3);
  a.crop = f.load("crop", Shape{1, 3, 512, 512});
  a.input = f.load("input", Shape{1, 3, 256, 256});
  a.volume = f.load("volume");
  a.frame_mask = f.load("frame_mask", Shape{1, 1, h, w});
  read_floats(f, "face.box", a.face.box);
  read_floats(f, "face.points", a.face.points);
  a.face.score = f.load("face.score", Shape{1}).data<float>()[0];
  a.faces_found = static_cast<int>(f.load("faces_found", Shape{1}, DType::kI64).data<std::int64_t>()[0]);
  a.m_o2c = read_affine(f, "m_o2c");
  a.m_c2o = read_affine(f, "m_c2o");
  read_floats(f, "motion.pitch", a.motion.pitch);
  read_floats(f, "motion.yaw", a.motion.yaw);
  read_floats(f, "motion.roll", a.motion.roll);
  read_floats(f, "motion.t", a.motion.t);
  read_floats(f, "motion.exp", a.motion.exp);
  a.motion.scale = f.load("motion.scale", Shape{1}).data<float>()[0];
  const Tensor kp = f.load("motion.kp", Shape{static_cast<std::int64_t>(a.motion.kp.size()), 3});
  std::memcpy(a.motion.kp.data(), kp.data<float>(), a.motion.kp.size() * 3 * sizeof(float));
  if (metadata) *metadata = meta;
  // Owned copies, not views of the file's mapping (the file may be replaced).
  for (Tensor* t : {&a.frame, &a.crop, &a.input, &a.volume, &a.frame_mask}) *t = t->clone();
  return a;
}

}  // namespace sc::engine::talking_head
