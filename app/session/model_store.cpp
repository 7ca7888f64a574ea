#include "app/session/model_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/log.h"

namespace sc::app {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".streamcanvas-model.json";
constexpr const char* kPullState = ".streamcanvas-pull.json";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string file_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string top_folder(const std::string& path) {
  const auto slash = path.find('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Formats that can run code when loaded, or that the engine does not read.
bool refused_format(const std::string& lname) {
  static const char* const kRefused[] = {".bin",     ".ckpt",    ".pt",   ".pth", ".pkl", ".pickle",
                                         ".msgpack", ".h5",      ".ot",   ".npz", ".npy", ".gguf",
                                         ".tflite",  ".mlmodel", ".nemo", ".zip", ".tar", ".gz",
                                         ".engine",  ".trt",     ".plan", ".xml", ".pb",  ".mlpackage"};
  for (const char* ext : kRefused)
    if (ends_with(lname, ext)) return true;
  return false;
}

bool pickled(const std::string& lname) {
  for (const char* ext : {".bin", ".ckpt", ".pt", ".pth", ".pkl", ".pickle"})
    if (ends_with(lname, ext)) return true;
  return false;
}

bool is_weights(const std::string& lname) { return ends_with(lname, ".safetensors") || ends_with(lname, ".onnx"); }

// The files worth having: weights the engine reads, their configs and
// vocabularies, templates, and the licence and model card.
bool wanted_kind(const std::string& path) {
  const std::string lname = lower(file_name(path));
  if (refused_format(lname)) return false;
  for (const char* ext :
       {".safetensors", ".onnx", ".onnx_data", ".onnx.data", ".json", ".txt", ".model", ".tiktoken", ".jinja", ".md"})
    if (ends_with(lname, ext)) return true;
  return lname.rfind("license", 0) == 0 || lname.rfind("licence", 0) == 0 || lname == "notice";
}

// A weight file's variant: "diffusion_pytorch_model.fp16.safetensors" ->
// {base "diffusion_pytorch_model", variant "fp16"}; the shard suffix and the
// index files ("X.safetensors.index.fp16.json") are understood.
struct WeightName {
  std::string base, variant;
  bool weights = false;
};

WeightName weight_name(const std::string& fname) {
  static const std::set<std::string> kVariants = {"fp16", "fp32", "bf16", "non_ema", "ema", "ema_only"};
  WeightName w;
  std::string stem;
  if (ends_with(fname, ".json") && fname.find(".safetensors.index") != std::string::npos) {
    const auto at = fname.find(".safetensors.index");
    w.base = fname.substr(0, at);
    std::string rest = fname.substr(at + std::strlen(".safetensors.index"));  // "" or ".fp16" then ".json"
    rest = rest.substr(0, rest.size() - 5);
    if (!rest.empty() && rest[0] == '.' && kVariants.count(rest.substr(1))) w.variant = rest.substr(1);
    w.weights = true;
    // "X.fp16.safetensors.index.json" names the variant before the extension too.
    const auto dot = w.base.rfind('.');
    if (w.variant.empty() && dot != std::string::npos && kVariants.count(w.base.substr(dot + 1))) {
      w.variant = w.base.substr(dot + 1);
      w.base = w.base.substr(0, dot);
    }
    return w;
  }
  if (!ends_with(fname, ".safetensors")) return w;
  stem = fname.substr(0, fname.size() - std::strlen(".safetensors"));
  // "-00001-of-00004"
  const auto dash = stem.rfind("-of-");
  if (dash != std::string::npos) {
    const auto start = stem.rfind('-', dash - 1);
    if (start != std::string::npos) stem = stem.substr(0, start);
  }
  w.weights = true;
  const auto dot = stem.rfind('.');
  if (dot != std::string::npos && kVariants.count(stem.substr(dot + 1))) {
    w.base = stem.substr(0, dot);
    w.variant = stem.substr(dot + 1);
  } else {
    w.base = stem;
  }
  return w;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json files_json(const std::vector<HubFile>& files, const std::string& strip) {
  nlohmann::json a = nlohmann::json::array();
  for (const HubFile& f : files) {
    std::string rel = f.path;
    if (!strip.empty() && rel.rfind(strip, 0) == 0) rel = rel.substr(strip.size());
    nlohmann::json e = {{"path", rel}, {"size", f.size}};
    if (!f.sha256.empty()) e["sha256"] = f.sha256;
    if (!f.git_oid.empty()) e["git_oid"] = f.git_oid;
    a.push_back(std::move(e));
  }
  return a;
}

// Writes `j` to `file` through a temporary and a rename, synced.
void write_json_file(const fs::path& file, const nlohmann::json& j) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) throw Error("cannot write {}: {}", tmp.string(), errno_text(errno));
  }
  if (int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) throw Error("cannot write {}: {}", file.string(), ec.message());
}

std::optional<nlohmann::json> read_json_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string json_string(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::int64_t folder_bytes(const fs::path& dir) {
  std::int64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) n += std::int64_t(it->file_size(ec));
  return n;
}

void sync_dir(const fs::path& dir) {
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

fs::path partial_path(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".partial");
}

bool valid_model_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name[0] != '.' && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

std::string name_for_repo(const std::string& repo) {
  std::string n = repo;
  const auto slash = n.find('/');
  if (slash != std::string::npos) n = n.substr(0, slash) + "--" + n.substr(slash + 1);
  return n;
}

std::string known_names() {
  std::string s;
  for (const CatalogEntry& e : model_catalog()) s += (s.empty() ? "" : ", ") + e.name;
  return s;
}

}  // namespace

const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> kCatalog = {
      {"sd-turbo",
       "stabilityai/sd-turbo",
       "img2img",
       "SD-Turbo: one-step img2img at 512x512 (about 2.6 GB in fp16)",
       "",
       {},
       {"model_index.json", "unet/config.json", "text_encoder/config.json", "tokenizer/vocab.json", "vae/config.json"}},
      {"sd-1.5",
       "stable-diffusion-v1-5/stable-diffusion-v1-5",
       "img2img",
       "Stable Diffusion 1.5 (about 2.6 GB in fp16)",
       "",
       {"safety_checker", "feature_extractor"},
       {"model_index.json", "unet/config.json", "text_encoder/config.json", "tokenizer/vocab.json", "vae/config.json"}},
      {"taesd",
       "madebyollin/taesd",
       "img2img",
       "TAESD: the tiny autoencoder for fast frames (about 10 MB)",
       "",
       {},
       {"config.json"}},
      {"ditto",
       "digital-avatar/ditto-talkinghead",
       "talking_head",
       "Ditto's talking-head networks, its ditto_onnx folder (about 2 GB)",
       "ditto_onnx/",
       {},
       {"appearance_extractor.onnx", "motion_extractor.onnx", "decoder.onnx", "lmdm_v0.4_hubert.onnx"}},
      {"llava-onevision-0.5b",
       "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
       "video_qa",
       "LLaVA-OneVision 0.5B: video questions (about 1.8 GB)",
       "",
       {},
       {"config.json", "tokenizer.json", "tokenizer_config.json"}},
      {"llava-onevision-7b",
       "llava-hf/llava-onevision-qwen2-7b-ov-hf",
       "video_qa",
       "LLaVA-OneVision 7B (about 16 GB; checked by its tensor list, not yet run)",
       "",
       {},
       {"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json"}},
  };
  return kCatalog;
}

const CatalogEntry* find_catalog_entry(const std::string& what) {
  const std::string l = lower(what);
  for (const CatalogEntry& e : model_catalog())
    if (e.name == l || lower(e.repo) == l) return &e;
  return nullptr;
}

fs::path models_dir(const std::string& flag) {
  if (!flag.empty()) return fs::path(flag);
  if (const char* e = std::getenv("SC_MODELS"); e && *e) return fs::path(e);
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x && fs::path(x).is_absolute())
    return fs::path(x) / "streamcanvas" / "models";
  const char* home = std::getenv("HOME");
  if (!home || !*home) throw Error("no models folder: HOME is not set; give --models-dir or set SC_MODELS");
  return fs::path(home) / ".local" / "share" / "streamcanvas" / "models";
}

std::vector<HubFile> select_model_files(const HubRepo& repo, const CatalogEntry* entry, const std::string& variant) {
  const std::string sub = entry ? entry->subfolder : "";
  std::vector<const HubFile*> in_scope;
  for (const HubFile& f : repo.files)
    if (sub.empty() || f.path.rfind(sub, 0) == 0) in_scope.push_back(&f);
  if (in_scope.empty())
    throw Error("{} at {} has no folder '{}': it is not laid out as the studio expects", repo.repo, repo.revision, sub);
  auto rel = [&](const HubFile& f) { return f.path.substr(sub.size()); };

  bool pipeline = false, any_safetensors = false;
  for (const HubFile* f : in_scope) {
    if (rel(*f) == "model_index.json") pipeline = true;
    if (ends_with(lower(f->path), ".safetensors")) any_safetensors = true;
  }
  std::set<std::string> skip;
  if (entry) skip.insert(entry->skip_components.begin(), entry->skip_components.end());

  std::vector<const HubFile*> kept;
  for (const HubFile* f : in_scope) {
    const std::string r = rel(*f);
    const std::string lname = lower(file_name(r));
    if (!wanted_kind(r)) continue;
    if (skip.count(top_folder(r))) continue;
    // A diffusers pipeline is its model_index.json and its component
    // folders; a weight file beside model_index.json is a single-file
    // checkpoint of the same model in another layout.
    if (pipeline && top_folder(r).empty() && is_weights(lname)) continue;
    // Exported copies for other runtimes next to the safetensors weights.
    if (any_safetensors && (ends_with(lname, ".onnx") || ends_with(lname, ".onnx_data") ||
                            ends_with(lname, ".onnx.data") || top_folder(r) == "onnx"))
      continue;
    kept.push_back(f);
  }

  // Variants: per folder and base name, the preferred variant when it exists.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> variants;
  for (const HubFile* f : kept) {
    const WeightName w = weight_name(file_name(rel(*f)));
    if (w.weights) variants[{dir_name(rel(*f)), w.base}].insert(w.variant);
  }
  std::vector<HubFile> out;
  for (const HubFile* f : kept) {
    const WeightName w = weight_name(file_name(rel(*f)));
    if (w.weights) {
      const std::set<std::string>& have = variants[{dir_name(rel(*f)), w.base}];
      std::string pick;
      if (variant == "fp16" && have.count("fp16"))
        pick = "fp16";
      else if (have.count(""))
        pick = "";
      else if (have.count("fp16"))
        pick = "fp16";
      else
        pick = *have.begin();
      if (w.variant != pick) continue;
    }
    out.push_back(*f);
  }

  if (entry) {
    std::set<std::string> have;
    for (const HubFile& f : out) have.insert(f.path.substr(sub.size()));
    std::vector<std::string> missing;
    for (const std::string& r : entry->required)
      if (!have.count(r)) missing.push_back(r);
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw Error("{} at {} lacks {} that the studio needs for {}; the hub repository may have changed layout",
                  repo.repo, repo.revision, list, entry->name);
    }
  }
  bool weights = false;
  for (const HubFile& f : out) weights = weights || is_weights(lower(f.path));
  if (!weights) {
    std::size_t pickles = 0;
    for (const HubFile* f : in_scope) pickles += pickled(lower(f->path));
    if (pickles > 0)
      throw Error(
          "{} at {} has no weights the studio can read: its {} weight file(s) are pickles (.bin, .ckpt, .pt, "
          ".pth), which can run code when loaded and are refused; look for a safetensors or ONNX copy",
          repo.repo, repo.revision, pickles);
    throw Error("{} at {} has no weights the studio can read (no .safetensors or .onnx files)", repo.repo,
                repo.revision);
  }
  return out;
}

PullResult pull_model(const PullRequest& req, const DownloadProgressFn& progress, const std::atomic<bool>* cancel) {
  std::string repo_name = req.what;
  const CatalogEntry* entry = find_catalog_entry(req.what);
  if (entry)
    repo_name = entry->repo;
  else if (req.what.find('/') == std::string::npos || req.what.find('/') != req.what.rfind('/') ||
           req.what.front() == '/' || req.what.back() == '/')
    throw Error("unknown model '{}': the studio knows {}; or give a hub repository as OWNER/NAME", req.what,
                known_names());
  if (req.variant != "fp16" && req.variant != "none")
    throw Error("--variant '{}': use fp16 (the default, where a repository has it) or none", req.variant);

  PullResult result;
  result.repo = repo_name;
  result.name = entry ? entry->name : name_for_repo(repo_name);
  const fs::path target = req.dir.empty() ? models_dir(req.models_dir) / result.name : fs::path(req.dir);
  result.path = target;
  const fs::path staging = partial_path(target);

  std::error_code ec;
  std::optional<nlohmann::json> installed;
  if (fs::exists(target, ec)) {
    installed = read_json_file(target / kMarker);
    if (!installed) {
      if (fs::is_directory(target, ec) && fs::is_empty(target, ec)) {
        fs::remove(target, ec);
      } else {
        throw Error(
            "{} already exists and was not made by `models pull` (it has no {}): remove it, or pull into "
            "another folder with --dir",
            target.string(), kMarker);
      }
    }
  }

  HubRepo repo;
  try {
    repo = fetch_repo(req.hub, repo_name, req.revision);
  } catch (const Error& e) {
    if (installed) throw Error("{}; the installed copy in {} is unchanged", e.what(), target.string());
    throw;
  }
  result.commit = repo.commit;
  const std::vector<HubFile> files = select_model_files(repo, entry, req.variant);
  result.files = files.size();
  for (const HubFile& f : files) result.bytes += f.size;
  const std::string strip = entry ? entry->subfolder : "";

  if (installed && json_string(*installed, "commit") == repo.commit &&
      json_string(*installed, "variant") == req.variant) {
    result.up_to_date = true;
    return result;
  }

  // The staging folder: kept from an interrupted pull of the same files, else
  // cleared of what the new file list does not have.
  const nlohmann::json file_list = files_json(files, strip);
  if (auto state = read_json_file(staging / kPullState)) {
    if (json_string(*state, "repo") != repo_name) {
      fs::remove_all(staging, ec);
    } else if (json_string(*state, "commit") != repo.commit && (*state)["files"].is_array()) {
      std::set<std::string> same;
      for (const auto& n : file_list)
        for (const auto& o : (*state)["files"])
          if (o == n) same.insert(n["path"].get<std::string>());
      for (const auto& o : (*state)["files"]) {
        if (!o.contains("path") || !o["path"].is_string()) continue;
        const std::string p = o["path"].get<std::string>();
        if (same.count(p)) continue;
        fs::remove(staging / p, ec);
        fs::remove(staging / (p + ".part"), ec);
      }
    }
  } else if (fs::exists(staging, ec)) {
    fs::remove_all(staging, ec);  // not ours, or from before the state was written: start again
  }
  fs::create_directories(staging, ec);
  if (ec) throw Error("cannot make {}: {}", staging.string(), ec.message());
  write_json_file(staging / kPullState, {{"repo", repo_name},
                                         {"revision", req.revision},
                                         {"commit", repo.commit},
                                         {"name", result.name},
                                         {"variant", req.variant},
                                         {"bytes", result.bytes},
                                         {"files", file_list}});

  // Updating: the files that did not change come from the installed copy.
  if (installed && (*installed)["files"].is_array()) {
    for (const auto& n : file_list)
      for (const auto& o : (*installed)["files"]) {
        if (o != n) continue;
        const std::string p = n["path"].get<std::string>();
        const fs::path dst = staging / p;
        if (fs::exists(dst, ec)) continue;
        fs::create_directories(dst.parent_path(), ec);
        fs::create_hard_link(target / p, dst, ec);
        if (ec) fs::copy_file(target / p, dst, ec);
      }
  }

  DownloadProgressFn track = [&](const DownloadProgress& p) {
    result.fetched = p.done - p.resumed;
    if (progress) progress(p);
  };
  download_files(req.hub, repo, files, staging, strip, track, cancel);

  nlohmann::json marker = {{"name", result.name},    {"repo", repo_name},      {"revision", req.revision},
                           {"commit", repo.commit},  {"variant", req.variant}, {"mode", entry ? entry->mode : ""},
                           {"pulled_at", now_utc()}, {"bytes", result.bytes},  {"endpoint", req.hub.endpoint},
                           {"files", file_list}};
  write_json_file(staging / kMarker, marker);
  fs::remove(staging / kPullState, ec);
  sync_dir(staging);
  if (installed) {
    const fs::path old = target.parent_path() / ("." + target.filename().string() + ".old");
    fs::remove_all(old, ec);
    fs::rename(target, old, ec);
    if (ec) throw Error("cannot replace {}: {}", target.string(), ec.message());
    fs::rename(staging, target, ec);
    if (ec) {
      std::error_code ec2;
      fs::rename(old, target, ec2);  // put the installed copy back
      throw Error("cannot move the new copy into {}: {}", target.string(), ec.message());
    }
    fs::remove_all(old, ec);
    result.updated = true;
  } else {
    fs::create_directories(target.parent_path(), ec);
    fs::rename(staging, target, ec);
    if (ec) throw Error("cannot move {} into place as {}: {}", staging.string(), target.string(), ec.message());
  }
  sync_dir(target.parent_path());
  log::info("pulled {} ({} at {}) into {}", result.name, repo_name, repo.commit.substr(0, 12), target.string());
  return result;
}

std::vector<InstalledModel> list_models(const fs::path& dir) {
  std::vector<InstalledModel> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::set<std::string> complete;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) continue;
    const std::string n = e.path().filename().string();
    InstalledModel m;
    if (n.size() > 9 && n[0] == '.' && ends_with(n, ".partial")) {
      m.name = n.substr(1, n.size() - 9);
      m.complete = false;
      if (auto s = read_json_file(e.path() / kPullState)) {
        m.repo = json_string(*s, "repo");
        m.revision = json_string(*s, "revision");
        m.commit = json_string(*s, "commit");
        if ((*s).contains("bytes") && (*s)["bytes"].is_number_integer())
          m.expected_bytes = (*s)["bytes"].get<std::int64_t>();
      }
    } else if (n[0] == '.') {
      continue;
    } else {
      m.name = n;
      if (auto mk = read_json_file(e.path() / kMarker)) {
        m.repo = json_string(*mk, "repo");
        m.revision = json_string(*mk, "revision");
        m.commit = json_string(*mk, "commit");
        m.mode = json_string(*mk, "mode");
      } else {
        m.pulled = false;
      }
    }
    if (m.mode.empty())
      if (const CatalogEntry* c = find_catalog_entry(m.repo.empty() ? m.name : m.repo)) m.mode = c->mode;
    m.path = e.path();
    m.bytes = folder_bytes(e.path());
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const InstalledModel& a, const InstalledModel& b) {
    return a.name != b.name ? a.name < b.name : a.complete > b.complete;
  });
  return out;
}

std::int64_t remove_model(const fs::path& dir, const std::string& name) {
  if (!valid_model_name(name)) throw Error("'{}' is not a model name (see `models list`)", name);
  const fs::path target = dir / name, staging = partial_path(target);
  std::error_code ec;
  const bool have = fs::exists(target, ec), have_partial = fs::exists(staging, ec);
  if (!have && !have_partial) throw Error("no model '{}' in {} (see `models list`)", name, dir.string());
  if (have && !fs::exists(target / kMarker, ec))
    throw Error("{} was not made by `models pull`; remove it yourself if you mean to", target.string());
  std::int64_t freed = 0;
  for (const fs::path& p : {target, staging}) {
    if (!fs::exists(p, ec)) continue;
    freed += folder_bytes(p);
    fs::remove_all(p, ec);
    if (ec) throw Error("cannot remove {}: {}", p.string(), ec.message());
  }
  return freed;
}

fs::path resolve_model_path(const std::string& arg, const std::string& models_dir_flag) {
  std::error_code ec;
  if (arg.empty() || fs::exists(arg, ec) || arg.find('/') != std::string::npos) return arg;
  fs::path dir;
  try {
    dir = models_dir(models_dir_flag);
  } catch (const Error&) {
    return arg;
  }
  const CatalogEntry* entry = find_catalog_entry(arg);
  const std::string name = entry ? entry->name : arg;
  if (valid_model_name(name) && fs::exists(dir / name / kMarker, ec)) return dir / name;
  if (entry) {
    if (fs::exists(partial_path(dir / name), ec))
      throw Error("model '{}' has not finished downloading: run `streamcanvas-cli models pull {}` to resume it", name,
                  name);
    throw Error("model '{}' is not installed: run `streamcanvas-cli models pull {}`", name, name);
  }
  return arg;
}

}  // namespace sc::app
