#include "engine/models/llava_onevision/video_processor.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace sc::engine {
namespace {

// Keys' cubic convolution with a = -0.5 (Pillow's and torch's antialiased
// bicubic filter).
double cubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// One output position's taps: inputs [first, first + weights.size()).
struct Taps {
  std::int64_t first = 0;
  std::vector<std::int32_t> weights;  // fixed point, `precision` fraction bits
};

// The filter along one axis (torch's _compute_index_ranges_weights for an
// antialiased cubic, then its int16 quantisation: the most fraction bits,
// at most 22, for which the largest weight still fits an int16).
std::vector<Taps> make_taps(std::int64_t in, std::int64_t out, int& precision) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  std::vector<std::vector<double>> real(static_cast<std::size_t>(out));
  std::vector<Taps> taps(static_cast<std::size_t>(out));
  double max_weight = 0.0;
  for (std::int64_t i = 0; i < out; ++i) {
    const double center = scale * (static_cast<double>(i) + 0.5);
    const std::int64_t first = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const std::int64_t size = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in) - first;
    std::vector<double>& w = real[static_cast<std::size_t>(i)];
    double total = 0.0;
    for (std::int64_t j = 0; j < size; ++j) {
      w.push_back(cubic((static_cast<double>(j + first) - center + 0.5) * inv));
      total += w.back();
    }
    if (total != 0.0) {
      for (double& v : w) v /= total;
    }
    for (double v : w) max_weight = std::max(max_weight, v);
    taps[static_cast<std::size_t>(i)].first = first;
  }
  precision = 0;
  for (; precision < 22; ++precision) {
    if (static_cast<int>(0.5 + max_weight * static_cast<double>(1 << (precision + 1))) >= (1 << 15)) break;
  }
  for (std::size_t i = 0; i < taps.size(); ++i) {
    for (double v : real[i]) {
      const double q = v * static_cast<double>(1 << precision);
      taps[i].weights.push_back(static_cast<std::int32_t>(q < 0.0 ? -0.5 + q : 0.5 + q));
    }
  }
  return taps;
}

std::uint8_t round_shift(std::int64_t acc, int precision) {
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(acc >> precision, 0, 255));
}

}  // namespace

void resize_bicubic_antialias_u8(const std::uint8_t* in, std::int64_t h, std::int64_t w, std::int64_t channels,
                                 std::uint8_t* out, std::int64_t out_h, std::int64_t out_w) {
  if (h <= 0 || w <= 0 || channels <= 0 || out_h <= 0 || out_w <= 0) {
    throw Error("resize: sizes must be positive ({}x{}x{} -> {}x{})", h, w, channels, out_h, out_w);
  }
  // Horizontal pass into a uint8 buffer [h, out_w, c], then vertical, as
  // torch and Pillow do (the intermediate rounding is part of the result).
  std::vector<std::uint8_t> mid;
  const std::uint8_t* src = in;
  std::int64_t cols = w;
  if (out_w != w) {
    int p = 0;
    const std::vector<Taps> taps = make_taps(w, out_w, p);
    mid.resize(static_cast<std::size_t>(h * out_w * channels));
    for (std::int64_t y = 0; y < h; ++y) {
      const std::uint8_t* row = in + y * w * channels;
      for (std::int64_t x = 0; x < out_w; ++x) {
        const Taps& t = taps[static_cast<std::size_t>(x)];
        for (std::int64_t c = 0; c < channels; ++c) {
          std::int64_t acc = std::int64_t{1} << (p - 1);
          for (std::size_t k = 0; k < t.weights.size(); ++k) {
            acc +=
                static_cast<std::int64_t>(row[(t.first + static_cast<std::int64_t>(k)) * channels + c]) * t.weights[k];
          }
          mid[static_cast<std::size_t>((y * out_w + x) * channels + c)] = round_shift(acc, p);
        }
      }
    }
    src = mid.data();
    cols = out_w;
  }
  if (out_h == h) {
    std::copy(src, src + h * cols * channels, out);
    return;
  }
  int p = 0;
  const std::vector<Taps> taps = make_taps(h, out_h, p);
  for (std::int64_t y = 0; y < out_h; ++y) {
    const Taps& t = taps[static_cast<std::size_t>(y)];
    for (std::int64_t i = 0; i < cols * channels; ++i) {
      std::int64_t acc = std::int64_t{1} << (p - 1);
      for (std::size_t k = 0; k < t.weights.size(); ++k) {
        acc += static_cast<std::int64_t>(src[(t.first + static_cast<std::int64_t>(k)) * cols * channels + i]) *
               t.weights[k];
      }
      out[y * cols * channels + i] = round_shift(acc, p);
    }
  }
}

VideoProcessorConfig VideoProcessorConfig::from_config(const Config& config) {
  VideoProcessorConfig c;
  if (config.has("size")) {
    const Config size = config.child("size");
    if (!size.has("height") || !size.has("width")) {
      throw Error(
          "config '{}': field 'size' must give \"height\" and \"width\" (other resize rules, e.g. "
          "shortest_edge, are not supported)",
          config.source());
    }
    c.height = size.get<std::int64_t>("height");
    c.width = size.get<std::int64_t>("width");
    if (c.height <= 0 || c.width <= 0) {
      throw Error("config '{}': field 'size' is {}x{}; both must be positive", config.source(), c.height, c.width);
    }
  }
  c.do_resize = config.get_or("do_resize", c.do_resize);
  c.do_rescale = config.get_or("do_rescale", c.do_rescale);
  c.do_normalize = config.get_or("do_normalize", c.do_normalize);
  c.rescale_factor = config.get_or("rescale_factor", c.rescale_factor);
  if (!(c.rescale_factor > 0.0)) {
    throw Error("config '{}': field 'rescale_factor' is {}; it must be positive", config.source(), c.rescale_factor);
  }
  const std::int64_t resample = config.get_or<std::int64_t>("resample", 3);
  if (resample != 3) {
    throw Error("config '{}': field 'resample' is {}; only 3 (bicubic) is supported", config.source(), resample);
  }
  for (const auto& [field, target] : {std::pair{"image_mean", &c.image_mean}, std::pair{"image_std", &c.image_std}}) {
    if (!config.has(field)) continue;
    const std::vector<float> v = config.get<std::vector<float>>(field);
    if (v.size() != 3) {
      throw Error("config '{}': field '{}' has {} values; 3 (R, G, B) are expected", config.source(), field, v.size());
    }
    std::copy(v.begin(), v.end(), target->begin());
  }
  for (float s : c.image_std) {
    if (!(s > 0.0f)) throw Error("config '{}': field 'image_std' holds {}; it must be positive", config.source(), s);
  }
  return c;
}

VideoProcessorConfig VideoProcessorConfig::load(const std::filesystem::path& folder) {
  for (const char* name : {"video_preprocessor_config.json", "preprocessor_config.json"}) {
    if (std::filesystem::exists(folder / name)) return from_config(Config::load(folder / name));
  }
  if (std::filesystem::exists(folder / "processor_config.json")) {
    const Config all = Config::load(folder / "processor_config.json");
    return from_config(all.has("video_processor") ? all.child("video_processor") : all);
  }
  return {};
}

Tensor preprocess_video(const Tensor& frames, const VideoProcessorConfig& c) {
  if (!frames.defined() || frames.dtype() != DType::kU8 || frames.rank() != 4 || frames.dim(3) != 3 ||
      frames.device() != Device::kCpu || frames.numel() == 0) {
    throw Error("video processor: frames must be u8 [frames, height, width, 3] (RGB) on the CPU, got {}",
                frames.defined() ? frames.describe() : "undefined");
  }
  const std::int64_t n = frames.dim(0), h = frames.dim(1), w = frames.dim(2);
  const std::int64_t oh = c.do_resize ? c.height : h, ow = c.do_resize ? c.width : w;
  // The fused rescale + normalise of transformers' fast processors, in f32:
  // mean and std divided by the rescale factor, one subtraction, one division.
  std::array<float, 3> sub{0, 0, 0}, div{1, 1, 1};
  const auto inv = static_cast<float>(1.0 / c.rescale_factor);
  for (int k = 0; k < 3; ++k) {
    if (c.do_normalize) {
      sub[k] = c.do_rescale ? c.image_mean[k] * inv : c.image_mean[k];
      div[k] = c.do_rescale ? c.image_std[k] * inv : c.image_std[k];
    }
  }
  const auto factor = static_cast<float>(c.rescale_factor);
  const bool multiply = c.do_rescale && !c.do_normalize;
  Tensor out = Tensor::empty({n, 3, oh, ow});
  float* dst = out.data<float>();
  std::vector<std::uint8_t> resized(static_cast<std::size_t>(oh * ow * 3));
  const std::uint8_t* src = frames.data<std::uint8_t>();
  for (std::int64_t f = 0; f < n; ++f) {
    const std::uint8_t* frame = src + f * h * w * 3;
    const std::uint8_t* px = frame;
    if (oh != h || ow != w) {
      resize_bicubic_antialias_u8(frame, h, w, 3, resized.data(), oh, ow);
      px = resized.data();
    }
    for (int k = 0; k < 3; ++k) {
      float* plane = dst + (f * 3 + k) * oh * ow;
      for (std::int64_t i = 0; i < oh * ow; ++i) {
        const auto v = static_cast<float>(px[i * 3 + k]);
        plane[i] = multiply ? v * factor : (v - sub[k]) / div[k];
      }
    }
  }
  return out;
}

}  // namespace sc::engine
