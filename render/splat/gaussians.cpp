#include "render/splat/gaussians.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>

#include "base/error.h"

namespace sc::render {
namespace {

// Upper bound on what we accept from a file: 64 M Gaussians is far beyond any
// capture; it keeps a hostile header from asking for terabytes.
constexpr std::size_t kMaxGaussians = std::size_t(1) << 26;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float logit(float p) {
  p = std::clamp(p, 1e-7f, 1.0f - 1e-7f);
  return std::log(p / (1.0f - p));
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("{}: cannot open: {}", path, errno_text(errno));
  in.seekg(0, std::ios::end);
  auto size = in.tellg();
  in.seekg(0);
  std::vector<std::uint8_t> data(static_cast<std::size_t>(std::max<std::streamoff>(size, 0)));
  if (!data.empty()) in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!in) throw Error("{}: read failed", path);
  return data;
}

enum class PlyType { kI8, kU8, kI16, kU16, kI32, kU32, kF32, kF64 };

bool parse_ply_type(std::string_view t, PlyType* out, int* bytes) {
  static const std::pair<std::string_view, std::pair<PlyType, int>> kTypes[] = {
      {"char", {PlyType::kI8, 1}},    {"int8", {PlyType::kI8, 1}},     {"uchar", {PlyType::kU8, 1}},
      {"uint8", {PlyType::kU8, 1}},   {"short", {PlyType::kI16, 2}},   {"int16", {PlyType::kI16, 2}},
      {"ushort", {PlyType::kU16, 2}}, {"uint16", {PlyType::kU16, 2}},  {"int", {PlyType::kI32, 4}},
      {"int32", {PlyType::kI32, 4}},  {"uint", {PlyType::kU32, 4}},    {"uint32", {PlyType::kU32, 4}},
      {"float", {PlyType::kF32, 4}},  {"float32", {PlyType::kF32, 4}}, {"double", {PlyType::kF64, 8}},
      {"float64", {PlyType::kF64, 8}}};
  for (auto& [name, v] : kTypes)
    if (t == name) {
      *out = v.first;
      *bytes = v.second;
      return true;
    }
  return false;
}

double read_binary(const std::uint8_t* p, PlyType t) {
  switch (t) {
    case PlyType::kI8:
      return double(*reinterpret_cast<const std::int8_t*>(p));
    case PlyType::kU8:
      return double(*p);
    case PlyType::kI16: {
      std::int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case PlyType::kU16: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case PlyType::kI32: {
      std::int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case PlyType::kU32: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case PlyType::kF32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case PlyType::kF64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
  return 0;
}

struct PlyProperty {
  std::string name;
  PlyType type = PlyType::kF32;
  int bytes = 4;
  std::size_t offset = 0;  // within a binary vertex record
};

}  // namespace

void GaussianCloud::resize(std::size_t n, int degree) {
  sh_degree = degree;
  positions.assign(3 * n, 0);
  scales.assign(3 * n, 0);
  rotations.assign(4 * n, 0);
  opacities.assign(n, 0);
  sh.assign(n * std::size_t(sh_coefficients()) * 3, 0);
}

void GaussianCloud::validate(const std::string& what) const {
  const std::size_t n = size();
  if (sh_degree < 0 || sh_degree > 3) throw Error("{}: SH degree {} is not 0..3", what, sh_degree);
  if (positions.size() != 3 * n || scales.size() != 3 * n || rotations.size() != 4 * n ||
      sh.size() != n * std::size_t(sh_coefficients()) * 3)
    throw Error("{}: attribute arrays disagree on the number of Gaussians ({})", what, n);
  auto finite = [&](const std::vector<float>& v, std::size_t per_gaussian, const char* field) {
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i])) throw Error("{}: Gaussian {} has a non-finite {}", what, i / per_gaussian, field);
  };
  finite(positions, 3, "position");
  finite(scales, 3, "scale");
  finite(rotations, 4, "rotation");
  finite(opacities, 1, "opacity");
  finite(sh, std::size_t(sh_coefficients()) * 3, "colour");
}

GaussianCloud parse_ply(const std::uint8_t* data, std::size_t size, const std::string& name) {
  // --- header ---
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t header_limit = std::min<std::size_t>(size, 1 << 16);
  const std::size_t end = all.substr(0, header_limit).find("end_header");
  if (all.substr(0, 3) != "ply") throw Error("{}: not a PLY file (no 'ply' magic)", name);
  if (end == std::string_view::npos) throw Error("{}: PLY header has no end_header in its first 64 KiB", name);
  std::size_t body = end + std::strlen("end_header");
  if (body < size && data[body] == '\r') ++body;
  if (body >= size || data[body] != '\n') throw Error("{}: PLY 'end_header' must end its line", name);
  ++body;
  std::istringstream header(std::string(all.substr(0, end)));
  std::string line;
  enum class Format { kUnknown, kBinaryLE, kAscii } format = Format::kUnknown;
  std::size_t vertex_count = 0;
  bool in_vertex = false, seen_vertex = false, element_before_vertex = false;
  std::vector<PlyProperty> props;
  std::size_t stride = 0;
  int line_no = 0;
  while (std::getline(header, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    if (word == "format") {
      std::string f;
      ls >> f;
      if (f == "binary_little_endian")
        format = Format::kBinaryLE;
      else if (f == "ascii")
        format = Format::kAscii;
      else
        throw Error("{}: PLY format '{}' is not supported (use binary_little_endian or ascii)", name, f);
    } else if (word == "element") {
      std::string ename, count;
      ls >> ename >> count;
      in_vertex = ename == "vertex";
      if (in_vertex) {
        if (seen_vertex) throw Error("{}: PLY header has two vertex elements", name);
        seen_vertex = true;
        auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), vertex_count);
        if (ec != std::errc() || p != count.data() + count.size())
          throw Error("{}: PLY vertex count '{}' is not a number", name, count);
        if (vertex_count > kMaxGaussians)
          throw Error("{}: {} Gaussians is more than the supported {}", name, vertex_count, kMaxGaussians);
      } else if (!seen_vertex) {
        element_before_vertex = true;
      }
    } else if (word == "property" && in_vertex) {
      std::string type, pname;
      ls >> type;
      if (type == "list") throw Error("{}: PLY vertex list properties are not supported", name);
      ls >> pname;
      PlyProperty p;
      p.name = pname;
      if (!parse_ply_type(type, &p.type, &p.bytes))
        throw Error("{}: PLY property '{}' has unknown type '{}'", name, pname, type);
      p.offset = stride;
      stride += std::size_t(p.bytes);
      props.push_back(p);
    } else if (word != "comment" && word != "obj_info" && word != "property" && word != "ply" && !word.empty()) {
      throw Error("{}: PLY header line {} is not understood: '{}'", name, line_no, line);
    }
  }
  if (format == Format::kUnknown) throw Error("{}: PLY header has no format line", name);
  if (!seen_vertex) throw Error("{}: PLY file has no vertex element", name);
  if (element_before_vertex) throw Error("{}: PLY elements before 'vertex' are not supported", name);

  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < props.size(); ++i) index[props[i].name] = i;
  auto require = [&](const std::string& p) {
    auto it = index.find(p);
    if (it == index.end()) throw Error("{}: PLY vertex lacks the '{}' property of a 3D Gaussian", name, p);
    return it->second;
  };
  const std::size_t ix = require("x"), iy = require("y"), iz = require("z");
  const std::size_t idc[3] = {require("f_dc_0"), require("f_dc_1"), require("f_dc_2")};
  const std::size_t iop = require("opacity");
  const std::size_t isc[3] = {require("scale_0"), require("scale_1"), require("scale_2")};
  const std::size_t irot[4] = {require("rot_0"), require("rot_1"), require("rot_2"), require("rot_3")};
  std::size_t rest = 0;
  while (index.count("f_rest_" + std::to_string(rest))) ++rest;
  if (rest % 3 != 0) throw Error("{}: {} f_rest properties is not a multiple of 3", name, rest);
  const std::size_t rest_per_channel = rest / 3;
  int degree = -1;
  for (int d = 0; d <= 3; ++d)
    if (std::size_t((d + 1) * (d + 1) - 1) == rest_per_channel) degree = d;
  if (degree < 0) throw Error("{}: {} f_rest coefficients per channel match no SH degree 0..3", name, rest_per_channel);

  GaussianCloud cloud;
  cloud.resize(vertex_count, degree);
  const int coefs = cloud.sh_coefficients();
  std::vector<std::size_t> irest(rest);
  for (std::size_t r = 0; r < rest; ++r) irest[r] = index["f_rest_" + std::to_string(r)];

  std::vector<double> values(props.size());
  auto store = [&](std::size_t i) {
    for (int a = 0; a < 3; ++a) cloud.positions[3 * i + a] = float(values[a == 0 ? ix : a == 1 ? iy : iz]);
    for (int a = 0; a < 3; ++a) cloud.scales[3 * i + a] = std::exp(float(values[isc[a]]));
    float q[4];
    double norm = 0;
    for (int a = 0; a < 4; ++a) norm += values[irot[a]] * values[irot[a]];
    norm = std::sqrt(norm);
    for (int a = 0; a < 4; ++a) q[a] = norm > 0 ? float(values[irot[a]] / norm) : (a == 0 ? 1.0f : 0.0f);
    std::copy(q, q + 4, &cloud.rotations[4 * i]);
    cloud.opacities[i] = sigmoid(float(values[iop]));
    float* sh = &cloud.sh[i * std::size_t(coefs) * 3];
    for (int c = 0; c < 3; ++c) sh[c] = float(values[idc[c]]);
    // f_rest is channel-major: all of R's coefficients, then G's, then B's.
    for (int c = 0; c < 3; ++c)
      for (std::size_t k = 0; k < rest_per_channel; ++k)
        sh[(k + 1) * 3 + c] = float(values[irest[c * rest_per_channel + k]]);
  };

  if (format == Format::kBinaryLE) {
    if (stride == 0) throw Error("{}: PLY vertex has no properties", name);
    const std::size_t need = vertex_count * stride;
    if (body > size || size - body < need)
      throw Error("{}: file is truncated: {} Gaussians need {} bytes of data, {} are there", name, vertex_count, need,
                  body > size ? 0 : size - body);
    for (std::size_t i = 0; i < vertex_count; ++i) {
      const std::uint8_t* rec = data + body + i * stride;
      for (std::size_t p = 0; p < props.size(); ++p) values[p] = read_binary(rec + props[p].offset, props[p].type);
      store(i);
    }
  } else {
    std::string_view text = body <= size ? all.substr(body) : std::string_view{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < vertex_count; ++i) {
      for (std::size_t p = 0; p < props.size(); ++p) {
        while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
        std::size_t start = pos;
        while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
        if (start == pos) throw Error("{}: ASCII PLY ends early at Gaussian {} of {}", name, i, vertex_count);
        std::string tok(text.substr(start, pos - start));
        char* endp = nullptr;
        values[p] = std::strtod(tok.c_str(), &endp);
        if (*endp) throw Error("{}: ASCII PLY value '{}' of Gaussian {} is not a number", name, tok, i);
      }
      store(i);
    }
  }
  cloud.validate(name);
  return cloud;
}

GaussianCloud load_ply(const std::string& path) {
  auto data = read_file(path);
  return parse_ply(data.data(), data.size(), path);
}

void save_ply(const GaussianCloud& cloud, const std::string& path) {
  cloud.validate(path);
  const std::size_t n = cloud.size();
  const int coefs = cloud.sh_coefficients();
  const int rest_per_channel = coefs - 1;
  std::ostringstream h;
  h << "ply\nformat binary_little_endian 1.0\nelement vertex " << n << "\n";
  for (const char* p : {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"})
    h << "property float " << p << "\n";
  for (int r = 0; r < 3 * rest_per_channel; ++r) h << "property float f_rest_" << r << "\n";
  for (const char* p : {"opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"})
    h << "property float " << p << "\n";
  h << "end_header\n";
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("{}: cannot create: {}", path, errno_text(errno));
  const std::string header = h.str();
  out.write(header.data(), std::streamsize(header.size()));
  std::vector<float> rec;
  for (std::size_t i = 0; i < n; ++i) {
    rec.clear();
    for (int a = 0; a < 3; ++a) rec.push_back(cloud.positions[3 * i + a]);
    rec.insert(rec.end(), {0.0f, 0.0f, 0.0f});
    const float* sh = &cloud.sh[i * std::size_t(coefs) * 3];
    for (int c = 0; c < 3; ++c) rec.push_back(sh[c]);
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < rest_per_channel; ++k) rec.push_back(sh[(k + 1) * 3 + c]);
    rec.push_back(logit(cloud.opacities[i]));
    for (int a = 0; a < 3; ++a) rec.push_back(std::log(std::max(cloud.scales[3 * i + a], 1e-30f)));
    for (int a = 0; a < 4; ++a) rec.push_back(cloud.rotations[4 * i + a]);
    out.write(reinterpret_cast<const char*>(rec.data()), std::streamsize(rec.size() * sizeof(float)));
  }
  if (!out) throw Error("{}: write failed (disk full?)", path);
}

GaussianCloud parse_splat(const std::uint8_t* data, std::size_t size, const std::string& name) {
  constexpr std::size_t kRecord = 32;
  if (size % kRecord != 0)
    throw Error("{}: a .splat file is a whole number of 32-byte records; {} bytes is not", name, size);
  const std::size_t n = size / kRecord;
  if (n > kMaxGaussians) throw Error("{}: {} Gaussians is more than the supported {}", name, n, kMaxGaussians);
  GaussianCloud cloud;
  cloud.resize(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* r = data + i * kRecord;
    float f[6];
    std::memcpy(f, r, sizeof f);
    for (int a = 0; a < 3; ++a) cloud.positions[3 * i + a] = f[a];
    for (int a = 0; a < 3; ++a) cloud.scales[3 * i + a] = f[3 + a];
    const std::uint8_t* rgba = r + 24;
    for (int c = 0; c < 3; ++c) cloud.sh[3 * i + c] = (rgba[c] / 255.0f - 0.5f) / kShC0;
    cloud.opacities[i] = rgba[3] / 255.0f;
    const std::uint8_t* q = r + 28;
    float qq[4];
    double norm = 0;
    for (int a = 0; a < 4; ++a) {
      qq[a] = (float(q[a]) - 128.0f) / 128.0f;
      norm += double(qq[a]) * qq[a];
    }
    norm = std::sqrt(norm);
    for (int a = 0; a < 4; ++a) cloud.rotations[4 * i + a] = norm > 0 ? float(qq[a] / norm) : (a == 0 ? 1.0f : 0.0f);
  }
  cloud.validate(name);
  return cloud;
}

GaussianCloud load_splat(const std::string& path) {
  auto data = read_file(path);
  return parse_splat(data.data(), data.size(), path);
}

GaussianCloud load_gaussians(const std::string& path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".ply") return load_ply(path);
  if (ext == ".splat") return load_splat(path);
  throw Error("{}: unknown Gaussian file type (use .ply or .splat)", path);
}

}  // namespace sc::render
