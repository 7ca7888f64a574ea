#include "app/modes/talking_head/talk_job.h"

#include "app/modes/talking_head/avatar_cache.h"

#include <fmt/format.h>

#include <chrono>
#include <vector>

#include "base/error.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "media/audio.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace sc::app {

namespace th = engine::talking_head;

namespace {

constexpr int kRate = 16000;
constexpr double kFps = 25.0;

}  // namespace

// The first frame of an image file as [1, 3, H, W] RGB 0..255.
engine::Tensor read_portrait(const std::string& path) {
  media::Frame f;
  try {
    media::VideoReader reader(media::parse_source_spec(path));
    if (!reader.read(f)) throw Error("'{}' has no picture", path);
  } catch (const Error& e) {
    throw Error("portrait '{}': {}", path, e.what());
  }
  std::vector<float> v(static_cast<std::size_t>(3) * f.width * f.height);
  const std::size_t plane = static_cast<std::size_t>(f.width) * f.height;
  for (int y = 0; y < f.height; ++y) {
    const std::uint8_t* row = f.row(y);
    for (int x = 0; x < f.width; ++x)
      for (int c = 0; c < 3; ++c) v[c * plane + static_cast<std::size_t>(y) * f.width + x] = row[4 * x + c];
  }
  return engine::Tensor::from_vector({1, 3, f.height, f.width}, v);
}

media::Frame to_frame(const engine::Tensor& t) {
  const int h = static_cast<int>(t.dim(2)), w = static_cast<int>(t.dim(3));
  media::Frame f = media::Frame::make_rgba(w, h);
  const float* p = t.data<float>();
  const std::size_t plane = static_cast<std::size_t>(w) * h;
  for (int y = 0; y < h; ++y) {
    std::uint8_t* row = f.row(y);
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c)
        row[4 * x + c] = static_cast<std::uint8_t>(p[c * plane + static_cast<std::size_t>(y) * w + x]);
      row[4 * x + 3] = 255;
    }
  }
  return f;
}

th::TalkingHeadOptions talking_head_options(const std::string& device, int steps, std::uint64_t seed, int emotion,
                                            float head_motion) {
  th::TalkingHeadOptions opt;
  opt.device = device == "cpu"                                        ? engine::Device::kCpu
               : device == "cuda"                                     ? engine::Device::kCuda
               : engine::compute_path() == engine::ComputePath::kCuda ? engine::Device::kCuda
                                                                      : engine::Device::kCpu;
  opt.sampling_steps = steps;
  opt.seed = seed;
  const int label[] = {emotion};
  opt.motion.emotion = {th::emotion_row(label)};
  opt.stitch.head_motion = head_motion;
  return opt;
}

TalkResult run_talk(const TalkOptions& o, const std::function<void(double, double)>& progress,
                    const std::atomic<bool>* cancel) {
  if (o.models.empty() || o.portrait.empty() || o.audio.empty() || o.output.empty())
    throw Error("talk needs --models, --portrait, --audio and --output");
  if (o.emotion < 0 || o.emotion >= th::kEmotions)
    throw Error("--emotion {} must be 0 to {}", o.emotion, th::kEmotions - 1);
  const auto t0 = std::chrono::steady_clock::now();
  const th::TalkingHeadOptions opt = talking_head_options(o.device, o.steps, o.seed, o.emotion, o.head_motion);
  // Audio first: a file without sound is refused before the models load.
  media::AudioReader audio(media::parse_audio_spec(o.audio), media::AudioFormat{kRate, 1});
  if (audio.format().sample_rate != kRate) throw Error("audio '{}': not resampled to 16 kHz", o.audio);
  const double total_s = audio.info().duration_s;
  std::unique_ptr<th::TalkingHead> head = th::TalkingHead::load(o.models, opt);
  const PortraitResult portrait =
      set_portrait_cached(*head, o.portrait, o.models, opt.registration, avatar_cache_dir(o.avatar_cache),
                          [&] { return read_portrait(o.portrait); });
  const engine::Tensor& frame = head->avatar().frame;
  TalkResult r;
  r.avatar_from_cache = portrait.from_cache;
  r.avatar_cache_file = portrait.cache_file.string();
  r.avatar_cache_warning = portrait.warning;
  r.width = static_cast<int>(frame.dim(3));
  r.height = static_cast<int>(frame.dim(2));
  r.output = o.output;
  r.device = engine::to_string(opt.device);
  media::WriterOptions wo;
  wo.width = r.width;
  wo.height = r.height;
  wo.fps = kFps;
  wo.encoder = o.encoder;
  wo.crf = o.crf;
  wo.audio_sample_rate = kRate;
  wo.audio_channels = 1;
  media::VideoWriter writer(o.output, wo);
  auto write = [&](const std::vector<engine::Tensor>& frames) {
    for (const engine::Tensor& t : frames) {
      writer.write(to_frame(t));
      ++r.frames;
    }
  };
  media::AudioChunk chunk;
  std::int64_t samples = 0;
  while (audio.read(chunk)) {
    if (cancel && cancel->load()) break;
    writer.write_audio(chunk);
    samples += static_cast<std::int64_t>(chunk.frames());
    write(head->push_audio(chunk.samples));
    if (progress) progress(static_cast<double>(samples) / kRate, total_s);
  }
  if (samples == 0) throw Error("audio '{}' has no samples", o.audio);
  write(head->finish());
  writer.close();
  r.audio_s = static_cast<double>(samples) / kRate;
  r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.stats = head->stats();
  return r;
}

std::string format_talk_stats(const TalkResult& r) {
  const th::TalkingHeadStats& s = r.stats;
  const double n = std::max<double>(1, static_cast<double>(r.frames));
  std::string t = fmt::format("  frames {} for {:.2f} s of audio on {}; {} face(s) found\n", r.frames, r.audio_s,
                              r.device, s.faces_found);
  t += r.avatar_from_cache ? fmt::format("  registration: from the cache ({})\n", r.avatar_cache_file)
                           : fmt::format("  registration {:.1f} ms once{}\n", s.registration_s * 1e3,
                                         r.avatar_cache_file.empty() ? "" : ", cached as " + r.avatar_cache_file);
  t += fmt::format("  HuBERT {} windows, LMDM {} windows\n", s.hubert_windows, s.lmdm_windows);
  t += fmt::format(
      "  ms per frame: hubert {:.2f}, lmdm {:.2f}, stitch {:.2f}, warp {:.2f}, decode {:.2f}, paste {:.2f}\n",
      s.hubert_s * 1e3 / n, s.lmdm_s * 1e3 / n, s.stitch_s * 1e3 / n, s.warp_s * 1e3 / n, s.decode_s * 1e3 / n,
      s.paste_s * 1e3 / n);
  t += fmt::format("  {:.2f} fps over {:.2f} s in all\n", r.frames / std::max(1e-9, r.elapsed_s), r.elapsed_s);
  return t;
}

}  // namespace sc::app
