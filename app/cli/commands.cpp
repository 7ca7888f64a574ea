// The CLI's own commands (not a mode's): doctor, sources, record, transcode,
// models pull/list/remove (app/cli/model_pull.cpp), models inspect, models run, tokenize (app/cli/tokenize.cpp).
#include "app/cli/commands.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli/model_inspect.h"
#include "app/cli/model_pull.h"
#include "app/cli/onnx_model.h"
#include "app/cli/tokenize.h"
#include "app/session/cli_support.h"
#include "app/session/doctor.h"
#include "app/session/record_job.h"
#include "base/error.h"
#include "engine/device.h"
#include "media/devices.h"
#include "sc/version.h"

namespace {

int run_record_command(sc::app::RecordOptions opt, const std::string& size) {
  if (!size.empty() && !sc::app::cli::parse_size(size, &opt.width, &opt.height))
    throw sc::Error("--size '{}' must look like 1280x720", size);
  sc::engine::compute_path();  // says once which path this machine uses
  sc::app::cli::catch_interrupts();
  sc::app::cli::ProgressLine line;
  auto r = sc::app::run_record(
      opt, [&](const sc::app::RecordProgress& p) { line.update(p); }, sc::app::cli::cancel_flag());
  line.finish();
  fmt::print("{} {} frames ({:.2f} s of {}x{} @ {:.2f} fps, {}) to {} in {:.2f} s\n",
             r.cancelled ? "stopped; kept" : "wrote", r.frames, r.duration_s, r.width, r.height, r.fps,
             sc::app::cli::human_bytes(r.bytes), r.output, r.elapsed_s);
  fmt::print("  decoder {}, encoder {}\n", r.decoder, r.encoder);
  if (r.dropped) fmt::print("  warning: {} frame(s) dropped because the encoder fell behind the source\n", r.dropped);
  if (!r.source_end.empty()) fmt::print("  note: the source ended early: {}\n", r.source_end);
  return 0;
}

int list_sources(bool json) {
  auto cams = sc::media::list_cameras();
  auto screens = sc::media::list_screens();
  auto mics = sc::media::list_microphones();
  if (json) {
    nlohmann::json j;
    j["test"] = "test";
    j["cameras"] = nlohmann::json::array();
    for (auto& c : cams) {
      nlohmann::json modes = nlohmann::json::array();
      for (auto& m : c.modes)
        modes.push_back({{"format", m.format}, {"width", m.width}, {"height", m.height}, {"fps", m.fps}});
      j["cameras"].push_back({{"source", c.source()}, {"name", c.name}, {"modes", modes}});
    }
    j["screens"] = nlohmann::json::array();
    for (auto& s : screens) j["screens"].push_back({{"source", s.source()}, {"width", s.width}, {"height", s.height}});
    j["microphones"] = nlohmann::json::array();
    for (auto& m : mics) j["microphones"].push_back({{"source", m.source}, {"description", m.description}});
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("Test pattern\n  test                 (also test:WxH@FPS)\n");
  fmt::print("Cameras\n");
  if (cams.empty()) fmt::print("  none found (no /dev/video* capture device)\n");
  for (auto& c : cams) {
    fmt::print("  {:<20} {}\n", c.source(), c.name);
    for (auto& m : c.modes) {
      std::string rates;
      for (double f : m.fps) rates += fmt::format("{}{:g}", rates.empty() ? "" : " ", f);
      fmt::print("      {:<6} {}x{}  {}\n", m.format, m.width, m.height, rates.empty() ? "" : rates + " fps");
    }
  }
  fmt::print("Screens\n");
  if (screens.empty()) fmt::print("  none (needs an X11 display)\n");
  for (auto& s : screens) fmt::print("  {:<20} {}x{}\n", s.source(), s.width, s.height);
  fmt::print("Microphones (for --audio)\n");
  if (mics.empty()) fmt::print("  none found (no PulseAudio or ALSA capture device); `tone` is a test tone\n");
  for (auto& m : mics) fmt::print("  {:<20} {}\n", m.source, m.description);
  return 0;
}

std::vector<sc::app::CliCommand> add_doctor(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* doctor = app.add_subcommand("doctor", "Report what this machine offers (GPU, Vulkan, FFmpeg, display)");
  doctor->add_flag("--json", *json, "Print the report as JSON");
  return {{doctor, [json] {
             sc::app::DoctorReport report = sc::app::run_doctor();
             if (*json)
               fmt::print("{}\n", report.to_json());
             else
               fmt::print("{}\n{}", sc::app::cli_version_line(), report.to_text());
             return report.can_run() ? 0 : 1;
           }}};
}

std::vector<sc::app::CliCommand> add_sources(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* sources = app.add_subcommand("sources", "List the cameras, screens and microphones that can be captured");
  sources->add_flag("--json", *json, "Print the list as JSON");
  return {{sources, [json] { return list_sources(*json); }}};
}

std::vector<sc::app::CliCommand> add_record(CLI::App& app) {
  struct Record {
    sc::app::RecordOptions rec;
    std::string size;
  };
  auto r = std::make_shared<Record>();
  sc::app::RecordOptions& rec = r->rec;
  auto* record = app.add_subcommand("record", "Record a source to a video file (Ctrl-C stops and keeps the file)");
  record->add_option("--source,-s", rec.source, "test, test:WxH@FPS, v4l2:/dev/videoN, screen, or a file")
      ->capture_default_str();
  record->add_option("--output,-o", rec.output, "Output video (.mp4 or .mkv)")->required();
  record->add_option("--duration,-d", rec.max_seconds, "Stop after SECONDS")->check(CLI::PositiveNumber);
  record->add_option("--frames,-n", rec.max_frames, "Stop after N frames")->check(CLI::PositiveNumber);
  record->add_option("--size", r->size, "Capture or scale to WxH");
  record->add_option("--fps", rec.fps, "Capture or retime to N frames per second")->check(CLI::Range(1.0, 1000.0));
  record->add_option("--audio", rec.audio, "Audio track from: mic, pulse[:SRC], alsa[:DEV], tone[:HZ], a file");
  record->add_option("--encoder", rec.encoder, "auto, libx264 or h264_nvenc")
      ->check(CLI::IsMember({"auto", "libx264", "h264_nvenc"}))
      ->capture_default_str();
  record->add_option("--quality", rec.crf, "Constant quality, 0 (best) to 51")->check(CLI::Range(0, 51));

  auto t = std::make_shared<Record>();
  sc::app::RecordOptions& tc = t->rec;
  auto* transcode = app.add_subcommand("transcode", "Convert a video file to H.264 (audio kept as AAC)");
  transcode->add_option("input", tc.source, "Input video")->required();
  transcode->add_option("output", tc.output, "Output video (.mp4 or .mkv)")->required();
  transcode->add_option("--size", t->size, "Scale to WxH");
  transcode->add_option("--fps", tc.fps, "Retime to N frames per second")->check(CLI::Range(1.0, 1000.0));
  transcode->add_option("--encoder", tc.encoder, "auto, libx264 or h264_nvenc")
      ->check(CLI::IsMember({"auto", "libx264", "h264_nvenc"}))
      ->capture_default_str();
  transcode->add_option("--quality", tc.crf, "Constant quality, 0 (best) to 51")->check(CLI::Range(0, 51));
  return {{record, [r] { return run_record_command(r->rec, r->size); }}, {transcode, [t] {
                                                                            sc::app::RecordOptions o = t->rec;
                                                                            o.source = "file:" + o.source;
                                                                            o.audio = "auto";
                                                                            return run_record_command(o, t->size);
                                                                          }}};
}

std::vector<sc::app::CliCommand> add_models(CLI::App& app) {
  struct Inspect {
    std::string dir, variant, manifest;
    bool json = false;
  };
  auto m = std::make_shared<Inspect>();
  auto* models = app.add_subcommand(
      "models",
      "Get models (pull, list, remove) and check model folders as downloaded (diffusers layout, TAESD, "
      "Qwen2, LLaVA-OneVision) and ONNX graphs");
  models->require_subcommand(1);
  auto* inspect = models->add_subcommand(
      "inspect",
      "Family, components, parameters, dtypes, and missing or unused tensors of a model folder; opset, inputs, "
      "outputs, op types, parameters and unsupported nodes of an ONNX file (or a folder of them)");
  inspect->add_option("dir", m->dir, "A diffusers pipeline folder, one component's folder, or a .onnx file")
      ->required();
  inspect->add_option("--variant", m->variant, "Prefer weights of this variant (e.g. fp16)");
  inspect->add_option("--manifest", m->manifest,
                      "Check a folder holding only a config.json against a tensor list (\"name dtype d0,d1\" lines) "
                      "instead of its weights");
  inspect->add_flag("--json", m->json, "Print the report as JSON");

  auto r = std::make_shared<sc::app::OnnxRunOptions>();
  auto* run = models->add_subcommand("run", "Run an ONNX graph on named input tensors and write every output");
  run->add_option("model", r->model, "The .onnx file")->required();
  run->add_option("--inputs", r->inputs, "safetensors file with one tensor per graph input, by name")->required();
  run->add_option("--output", r->output, "safetensors file to write every graph output to")->required();
  run->add_option("--device", r->device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  run->add_option("--dtype", r->dtype,
                  "How floats are stored on the device: auto (f32 on the CPU, f16 on CUDA), f32, f16, bf16")
      ->check(CLI::IsMember({"auto", "f32", "f16", "bf16"}))
      ->capture_default_str();
  run->add_option("--bench", r->bench, "Time N more forwards and print the time per forward")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--profile", r->profile, "Print the op-by-op time of one forward");
  std::vector<sc::app::CliCommand> commands = sc::app::add_model_store_commands(*models);
  commands.push_back({inspect, [m] {
                        const auto out = sc::app::is_onnx_target(m->dir)
                                             ? sc::app::inspect_onnx(m->dir, m->json)
                                             : sc::app::inspect_model_folder(m->dir, m->variant, m->json, m->manifest);
                        fmt::print("{}", out.text);
                        return out.ok ? 0 : 1;
                      }});
  commands.push_back({run, [r] { return sc::app::run_onnx(*r); }});
  return commands;
}

}  // namespace

namespace sc::app {

std::string cli_version_line() {
  return fmt::format("streamcanvas-cli {} ({}, CUDA {})", kVersion, kGitRevision,
                     kBuiltWithCuda ? "compiled in" : "not compiled");
}

std::vector<CliCommand> add_builtin_commands(CLI::App& app) {
  std::vector<CliCommand> all;
  for (auto add : {add_doctor, add_sources, add_record, add_models, add_tokenize_command})
    for (CliCommand& c : add(app)) all.push_back(std::move(c));
  return all;
}

}  // namespace sc::app
