// `models pull`, `models list`, `models remove`: the shell over
// app/session/model_store.h, with a progress display on a terminal.
#include "app/cli/model_pull.h"

#include <CLI/CLI.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "app/session/cli_support.h"
#include "app/session/model_store.h"
#include "base/error.h"

namespace sc::app {
namespace {

using Clock = std::chrono::steady_clock;
using cli::human_bytes;

std::string bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int full = int(fraction * width + 0.5);
  return std::string(std::size_t(full), '#') + std::string(std::size_t(width - full), '-');
}

std::string eta_text(std::int64_t left, double rate) {
  if (rate <= 0 || left <= 0) return "";
  const double s = double(left) / rate;
  if (s >= 3600) return fmt::format("ETA {}h{:02}m", int(s / 3600), int(s / 60) % 60);
  if (s >= 60) return fmt::format("ETA {}m{:02}s", int(s / 60), int(s) % 60);
  return fmt::format("ETA {:.0f}s", s);
}

std::string shorten(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : "…" + s.substr(s.size() - (n - 1));
}

// Per file and total on a terminal (redrawn in place); on a pipe, a line per
// finished file and the total every 10 s.
class PullView {
 public:
  explicit PullView(std::string name) : name_(std::move(name)), tty_(isatty(fileno(stderr))) {}

  void update(const DownloadProgress& p) {
    const auto now = Clock::now();
    using State = DownloadProgress::File::State;
    if (!tty_) {
      for (const auto& f : p.files)
        if (f.state == State::kDone && !reported_.count(f.path)) {
          reported_.insert(f.path);
          if (f.done > 0) fmt::print(stderr, "  got {} ({})\n", f.path, human_bytes(f.size));
        }
      if (now - last_ >= std::chrono::seconds(10)) {
        last_ = now;
        fmt::print(stderr, "  {}: {} of {} ({:.0f}%), {}/s {}\n", name_, human_bytes(p.done), human_bytes(p.total),
                   p.total ? 100.0 * double(p.done) / double(p.total) : 100.0, human_bytes(std::int64_t(p.rate)),
                   eta_text(p.total - p.done, p.rate));
      }
      return;
    }
    if (lines_ > 0 && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::string out;
    if (lines_ > 0) out += fmt::format("\x1b[{}A", lines_);
    int lines = 0;
    for (const auto& f : p.files) {
      if (f.state != State::kActive) continue;
      out += fmt::format("\x1b[2K  {:<44} [{}] {:3.0f}%  {} / {}\n", shorten(f.path, 44),
                         bar(f.size ? double(f.done) / double(f.size) : 1.0, 20),
                         f.size ? 100.0 * double(f.done) / double(f.size) : 100.0, human_bytes(f.done),
                         human_bytes(f.size));
      ++lines;
    }
    for (; lines < lines_ - 1; ++lines) out += "\x1b[2K\n";  // lines of files that ended
    out += fmt::format("\x1b[2K  total {:<38} [{}] {:3.0f}%  {} / {}  {}/s  {}\n", name_,
                       bar(p.total ? double(p.done) / double(p.total) : 1.0, 20),
                       p.total ? 100.0 * double(p.done) / double(p.total) : 100.0, human_bytes(p.done),
                       human_bytes(p.total), human_bytes(std::int64_t(p.rate)), eta_text(p.total - p.done, p.rate));
    lines_ = lines + 1;
    fmt::print(stderr, "{}", out);
    std::fflush(stderr);
  }

 private:
  std::string name_;
  bool tty_;
  int lines_ = 0;
  Clock::time_point last_{};
  std::set<std::string> reported_;
};

struct PullArgs {
  PullRequest req;
  int jobs = 4, retries = 3;
  double timeout_s = 30;
};

int run_pull(PullArgs a) {
  a.req.hub.jobs = a.jobs;
  a.req.hub.retries = a.retries;
  a.req.hub.stall_timeout_s = std::max(1L, long(a.timeout_s));
  cli::catch_interrupts();
  const CatalogEntry* entry = find_catalog_entry(a.req.what);
  PullView view(entry ? entry->name : a.req.what);
  const auto t0 = Clock::now();
  try {
    PullResult r = pull_model(
        a.req, [&](const DownloadProgress& p) { view.update(p); }, cli::cancel_flag());
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r.up_to_date) {
      fmt::print("{} is up to date ({} at {}) in {}\n", r.name, r.repo, r.commit.substr(0, 12), r.path.string());
      return 0;
    }
    fmt::print("{} {} ({} at {}): {} files, {}, in {}\n", r.updated ? "updated" : "pulled", r.name, r.repo,
               r.commit.substr(0, 12), r.files, human_bytes(r.bytes), r.path.string());
    fmt::print("  received {} in {:.1f} s\n", human_bytes(r.fetched), s);
    return 0;
  } catch (const Error& e) {
    if (cli::cancelled()) {
      fmt::print(stderr, "streamcanvas-cli: {}\n", e.what());
      return 130;
    }
    throw;
  }
}

int run_list(const std::string& dir_flag, bool json) {
  const std::filesystem::path dir = models_dir(dir_flag);
  const std::vector<InstalledModel> models = list_models(dir);
  if (json) {
    nlohmann::json j = {
        {"models_dir", dir.string()}, {"installed", nlohmann::json::array()}, {"available", nlohmann::json::array()}};
    for (const InstalledModel& m : models)
      j["installed"].push_back({{"name", m.name},
                                {"path", m.path.string()},
                                {"repo", m.repo},
                                {"revision", m.revision},
                                {"commit", m.commit},
                                {"mode", m.mode},
                                {"bytes", m.bytes},
                                {"complete", m.complete},
                                {"pulled", m.pulled},
                                {"expected_bytes", m.expected_bytes}});
    for (const CatalogEntry& e : model_catalog())
      j["available"].push_back({{"name", e.name}, {"repo", e.repo}, {"mode", e.mode}, {"description", e.description}});
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("Models in {}\n", dir.string());
  if (models.empty()) fmt::print("  none yet: `streamcanvas-cli models pull NAME` (names below)\n");
  for (const InstalledModel& m : models) {
    std::string what = m.repo.empty() ? "" : m.repo + (m.commit.empty() ? "" : "@" + m.commit.substr(0, 12));
    std::string state;
    if (!m.complete)
      state = fmt::format("unfinished: {} of {}; `models pull {}` resumes it", human_bytes(m.bytes),
                          human_bytes(m.expected_bytes), m.name);
    else if (!m.pulled)
      state = "put here by hand";
    fmt::print("  {:<24} {:>10}  {:<12} {}{}\n", m.name, human_bytes(m.bytes), m.mode.empty() ? "-" : m.mode, what,
               state.empty() ? "" : "  (" + state + ")");
  }
  fmt::print("Available to pull\n");
  for (const CatalogEntry& e : model_catalog()) {
    const bool have = std::any_of(models.begin(), models.end(),
                                  [&](const InstalledModel& m) { return m.name == e.name && m.complete; });
    fmt::print("  {:<24} {:<12} {}{}\n", e.name, e.mode, e.description, have ? " [installed]" : "");
  }
  fmt::print("  or any hub repository: models pull OWNER/NAME\n");
  return 0;
}

}  // namespace

std::vector<CliCommand> add_model_store_commands(CLI::App& models) {
  auto a = std::make_shared<PullArgs>();
  auto* pull = models.add_subcommand(
      "pull",
      "Download a model by name (see `models list`) or any hub repository OWNER/NAME: only the files the "
      "studio reads, resumable, checked against the hub's sizes and hashes");
  pull->add_option("model", a->req.what,
                   "A name (sd-turbo, sd-1.5, taesd, ditto, llava-onevision-0.5b, ...) or "
                   "OWNER/NAME")
      ->required();
  pull->add_option("--revision", a->req.revision, "Branch, tag or commit")->capture_default_str();
  pull->add_option("--dir", a->req.dir, "Put the model in this folder instead of the models folder");
  pull->add_option("--models-dir", a->req.models_dir,
                   "The models folder (default $SC_MODELS, else ~/.local/share/streamcanvas/models)");
  pull->add_option("--variant", a->req.variant, "fp16 (where the repository has it) or none (full precision)")
      ->check(CLI::IsMember({"fp16", "none"}))
      ->capture_default_str();
  pull->add_option("--jobs,-j", a->jobs, "Files downloaded at once")->check(CLI::Range(1, 16))->capture_default_str();
  pull->add_option("--retries", a->retries, "Tries again after a dropped or stalled transfer, resuming")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  pull->add_option("--timeout", a->timeout_s, "Seconds without data before a transfer counts as stalled")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  pull->footer(
      "The hub is https://huggingface.co, or HF_ENDPOINT (a mirror); HF_TOKEN is sent for gated or private "
      "repositories. Ctrl-C stops and keeps what was received: the same command resumes.");

  auto list_dir = std::make_shared<std::string>();
  auto list_json = std::make_shared<bool>(false);
  auto* list = models.add_subcommand("list", "The installed models with their sizes, and the ones that can be pulled");
  list->add_option("--models-dir", *list_dir, "The models folder");
  list->add_flag("--json", *list_json, "Print the lists as JSON");

  struct Remove {
    std::string name, dir;
  };
  auto r = std::make_shared<Remove>();
  auto* remove = models.add_subcommand("remove", "Delete a pulled model (and any unfinished pull of it)");
  remove->add_option("name", r->name, "The model's name, as `models list` shows it")->required();
  remove->add_option("--models-dir", r->dir, "The models folder");

  return {{pull, [a] { return run_pull(*a); }},
          {list, [list_dir, list_json] { return run_list(*list_dir, *list_json); }},
          {remove, [r] {
             const auto dir = models_dir(r->dir);
             const std::int64_t freed = remove_model(dir, r->name);
             fmt::print("removed {} from {} ({} freed)\n", r->name, dir.string(), human_bytes(freed));
             return 0;
           }}};
}

}  // namespace sc::app
