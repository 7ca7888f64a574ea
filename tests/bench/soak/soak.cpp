// bench_soak: a live session per mode for a long time (default an hour),
// as the studio runs in front of an audience, reporting resident and GPU
// memory over time, drops per stage, audio gaps and whether the recording
// plays from end to end. See README.md for the command and the results.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/modes/img2img/img2img_engine.h"
#include "app/modes/volumetric/v3_player.h"
#include "app/session/assets.h"
#include "app/session/live_session.h"
#include "base/environment.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"
#include "media/audio.h"
#include "media/recorder.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "render/context.h"
#include "tests/common/img2img_fixture.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  std::vector<std::string> modes{"passthrough", "img2img", "volumetric"};
  double minutes = 60;
  double sample_s = 10;
  std::string out_dir = "soak-out";
};

struct Sample {
  double t_s = 0;
  long rss_kib = 0;
  double gpu_used_mib = -1;  // -1: no CUDA device
};

struct Result {
  std::string mode;
  double seconds = 0;
  std::vector<Sample> samples;
  std::int64_t shown = 0;          // frames the "viewport" took
  std::uint64_t input_drops = 0;   // the live source outran the mode (by design: latest wins)
  std::uint64_t record_drops = 0;  // the encoder fell behind: frames missing from the file
  std::uint64_t audio_gaps = 0;
  std::int64_t recorded = 0;        // frames the recorder wrote
  std::int64_t decoded = 0;         // frames read back from the file
  double video_s = 0, audio_s = 0;  // lengths of the file's tracks
  std::vector<std::string> errors;

  // Growth from the first sample after the warm-up (a sixth of the run) to
  // the last, and that per hour.
  double growth_pct() const {
    const Sample* base = baseline();
    if (!base || samples.back().rss_kib <= 0) return 0;
    return 100.0 * double(samples.back().rss_kib - base->rss_kib) / double(base->rss_kib);
  }
  double growth_pct_per_hour() const {
    const Sample* base = baseline();
    const double span = base ? samples.back().t_s - base->t_s : 0;
    return span > 0 ? growth_pct() * 3600.0 / span : 0;
  }
  const Sample* baseline() const {
    for (const Sample& s : samples)
      if (s.t_s >= seconds / 6) return &s;
    return samples.empty() ? nullptr : &samples.front();
  }
  long rss_max() const {
    long m = 0;
    for (const Sample& s : samples) m = std::max(m, s.rss_kib);
    return m;
  }
  bool plays() const { return decoded > 0 && decoded >= recorded - 1 && errors.empty(); }
};

Sample sample(double t_s) {
  Sample s;
  s.t_s = t_s;
  s.rss_kib = sc::resident_memory_kib();
  std::uint64_t free = 0, total = 0;
  if (sc::engine::cuda_memory(&free, &total)) s.gpu_used_mib = double(total - free) / double(1 << 20);
  return s;
}

// Reads the recording back: every frame, and the audio track's length.
void check_file(const std::string& path, bool with_audio, Result& r) {
  try {
    sc::media::VideoReader video(sc::media::parse_source_spec(path, sc::media::Pacing::kFast));
    sc::media::Frame f;
    std::int64_t first = -1, last = 0;
    while (video.read(f)) {
      ++r.decoded;
      if (first < 0) first = f.pts_us;
      last = f.pts_us;
    }
    r.video_s = first >= 0 ? double(last - first) / 1e6 : 0;
    if (with_audio) {
      sc::media::AudioReader audio(sc::media::parse_audio_spec(path), {48000, 1});
      sc::media::AudioChunk c;
      std::int64_t samples = 0;
      while (audio.read(c)) samples += std::int64_t(c.frames());
      r.audio_s = double(samples) / 48000.0;
    }
  } catch (const std::exception& e) {
    r.errors.push_back(fmt::format("reading {} back: {}", path, e.what()));
  }
}

// The live session with a mode (or none), a source, a microphone stand-in,
// a viewport stand-in at 60 Hz and a recording for the whole run.
Result soak_session(const std::string& name, std::shared_ptr<sc::app::Mode> mode, const std::string& source,
                    const Options& o) {
  Result r;
  r.mode = name;
  const std::string file = (fs::path(o.out_dir) / ("soak-" + name + ".mp4")).string();
  fs::remove(file);
  sc::app::LiveSession s;
  s.set_mode(mode);
  s.start(source);
  s.start_audio("tone:440");
  sc::app::DisplayFrames shown;
  std::uint64_t seq = 0;
  const auto start = Clock::now();
  const double total_s = o.minutes * 60;
  bool recording = false;
  double next_sample = 0;
  for (;;) {
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    if (t >= total_s) break;
    if (s.latest(shown, &seq)) {
      s.displayed(shown.output);
      ++r.shown;
      if (!recording) {
        s.start_recording({file, 28, "auto"});
        recording = true;
      }
    }
    for (const std::string& e : s.take_errors()) r.errors.push_back(e);
    if (t >= next_sample) {
      r.samples.push_back(sample(t));
      next_sample += o.sample_s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(16));
  }
  const sc::app::SessionStats st = s.stats();
  r.input_drops = st.dropped;
  r.audio_gaps = st.audio_gaps;
  if (recording) {
    const sc::app::RecordingStatus rec = s.stop_recording();
    r.recorded = rec.frames;
    r.record_drops = rec.dropped;
  }
  s.stop_audio();
  s.stop();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.samples.push_back(sample(r.seconds));
  for (const std::string& e : s.take_errors()) r.errors.push_back(e);
  if (recording) check_file(file, true, r);
  return r;
}

// Volumetric playback draws on its own device: the bundled clip played in
// real time on an offscreen target, each frame read back and recorded.
Result soak_volumetric(const Options& o) {
  Result r;
  r.mode = "volumetric";
  const std::string file = (fs::path(o.out_dir) / "soak-volumetric.mp4").string();
  fs::remove(file);
  sc::render::VulkanContext ctx(sc::render::ContextOptions{});
  sc::app::V3Player player(ctx, sc::app::find_asset("volumetric/sample"));
  constexpr int kW = 320, kH = 240;
  sc::media::WriterOptions wo;
  wo.width = kW;
  wo.height = kH;
  wo.fps = player.fps();
  wo.crf = 28;
  wo.timing = sc::media::FrameTiming::kFramePts;
  std::optional<sc::media::Recorder> recorder;
  recorder.emplace(file, wo, sc::media::RecorderOptions{8, true});
  sc::app::OrbitCamera orbit = player.default_camera();
  const auto start = Clock::now();
  const double total_s = o.minutes * 60;
  double next_sample = 0;
  for (std::int64_t i = 0;; ++i) {
    const auto due = start + std::chrono::microseconds(std::int64_t(double(i) * 1e6 / player.fps()));
    std::this_thread::sleep_until(due);
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    if (t >= total_s) break;
    try {
      player.load(int(i % player.frame_count()));
      orbit.yaw_degrees = float(90.0 * double(i) / player.fps());
      player.renderer().render(orbit.camera(kW, kH), {0.05f, 0.05f, 0.07f});
      const std::vector<std::uint8_t> rgba = player.renderer().read_rgba8();
      sc::media::Frame f = sc::media::Frame::make_rgba(kW, kH);
      for (int y = 0; y < kH; ++y) std::memcpy(f.row(y), &rgba[std::size_t(y) * kW * 4], std::size_t(kW) * 4);
      f.pts_us = std::int64_t(double(i) * 1e6 / player.fps());
      f.capture_time = Clock::now();
      recorder->push(std::move(f));
      ++r.shown;
    } catch (const std::exception& e) {
      r.errors.push_back(e.what());
      break;
    }
    if (t >= next_sample) {
      r.samples.push_back(sample(t));
      next_sample += o.sample_s;
    }
  }
  const sc::media::RecorderStats rs = recorder->stats();
  recorder->stop();
  r.recorded = rs.written.frames;
  r.record_drops = rs.dropped;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.samples.push_back(sample(r.seconds));
  if (ctx.validation_errors() > 0)
    r.errors.push_back(fmt::format("{} Vulkan validation errors", ctx.validation_errors()));
  check_file(file, false, r);
  r.recorded = std::max(r.recorded, rs.written.frames);
  return r;
}

void print(const Result& r) {
  const Sample* base = r.baseline();
  const std::string gpu =
      r.samples.back().gpu_used_mib >= 0
          ? fmt::format("{:.0f} -> {:.0f} MiB", base ? base->gpu_used_mib : 0.0, r.samples.back().gpu_used_mib)
          : "n/a (no CUDA)";
  fmt::print(
      "| {} | {:.1f} min | {} -> {} KiB (max {}) | {:+.2f}% ({:+.2f}%/h) | {} | {} shown | input {} / record {} | {} | "
      "{} / {} frames, video {:.1f} s{} | {} |\n",
      r.mode, r.seconds / 60, base ? base->rss_kib : 0, r.samples.back().rss_kib, r.rss_max(), r.growth_pct(),
      r.growth_pct_per_hour(), gpu, r.shown, r.input_drops, r.record_drops, r.audio_gaps, r.decoded, r.recorded,
      r.video_s, r.audio_s > 0 ? fmt::format(", audio {:.1f} s", r.audio_s) : "", r.plays() ? "yes" : "NO");
  for (const std::string& e : r.errors) fmt::print("  {}: {}\n", r.mode, e);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Soak: a live session per mode for a long time, memory and drops over time", "bench_soak"};
  Options o;
  bool quick = false;
  app.add_option("--mode", o.modes, "passthrough, img2img, volumetric (default: all)")
      ->check(CLI::IsMember({"passthrough", "img2img", "volumetric"}));
  app.add_option("--minutes", o.minutes, "Minutes per mode")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--quick", quick, "Two minutes per mode (samples every 5 s)");
  app.add_option("--sample-seconds", o.sample_s, "Seconds between memory samples")->check(CLI::PositiveNumber);
  app.add_option("--out", o.out_dir, "Folder for the recordings")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    o.minutes = 2;
    o.sample_s = 5;
  }
  sc::log::set_level(sc::log::Level::kWarn);
  fs::create_directories(o.out_dir);
  fmt::print("bench_soak: {:.1f} min per mode, memory every {:.0f} s; baseline after the first sixth of the run\n\n",
             o.minutes, o.sample_s);
  fmt::print(
      "| mode | ran | RSS (baseline -> end) | RSS growth | GPU memory | frames | drops | audio gaps | recording read "
      "back | plays |\n|---|---|---|---|---|---|---|---|---|---|\n");
  int failures = 0;
  for (const std::string& mode : o.modes) {
    Result r;
    try {
      if (mode == "passthrough") {
        r = soak_session(mode, nullptr, "test:320x240@30", o);
      } else if (mode == "img2img") {
        sc::app::Img2ImgModels m;
        m.model = sc::test::tiny_img2img_pipeline("soak_img2img_model").string();
        m.taesd = sc::test::tiny_taesd().string();
        m.device = "auto";
        sc::app::Img2ImgSettings s;
        s.prompt = "a watercolor city";
        s.width = s.height = 64;
        r = soak_session(mode, std::make_shared<sc::app::Img2ImgEngine>(m, s), "test:96x64@20", o);
      } else {
        r = soak_volumetric(o);
      }
    } catch (const std::exception& e) {
      r.mode = mode;
      r.errors.push_back(e.what());
      r.samples.push_back(sample(0));
    }
    print(r);
    std::fflush(stdout);
    if (!r.plays() || r.record_drops > 0) ++failures;
  }
  return failures ? 1 : 0;
}
