#pragma once
// The models folder: the models the studio knows by name, pulling one from
// the hub (only the files the studio reads), listing and removing what is
// installed. Qt-free; the CLI's `models pull|list|remove` and the studio's
// Download dialog are thin shells over it.
//
// Layout: one folder per model, <models>/<name>/, complete or absent. A pull
// downloads into <models>/.<name>.partial/ (resumed from there after an
// interruption) and renames it into place only when every file has been
// checked; `.streamcanvas-model.json` inside a model folder records what it
// is (repository, commit, files, sizes, hashes). Nothing half-downloaded is
// ever at a model's path.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/session/model_hub.h"

namespace sc::app {

struct CatalogEntry {
  std::string name;  // what users type: sd-turbo
  std::string repo;  // on the hub: stabilityai/sd-turbo
  std::string mode;  // img2img, talking_head, video_qa
  std::string description;
  std::string subfolder;                     // only the files below this ("ditto_onnx/"), placed at the top
  std::vector<std::string> skip_components;  // a diffusers pipeline's folders the studio never reads
  std::vector<std::string> required;         // paths (below subfolder) a usable download must have
};

// The models the studio supports by name.
const std::vector<CatalogEntry>& model_catalog();
const CatalogEntry* find_catalog_entry(const std::string& name_or_repo);

// Where models live: `flag` when set, else $SC_MODELS, else
// $XDG_DATA_HOME/streamcanvas/models (~/.local/share/streamcanvas/models).
std::filesystem::path models_dir(const std::string& flag = "");

// The files of `repo` the studio needs: safetensors, ONNX graphs, configs,
// tokenizers, templates and licence texts; never pickled weights (.bin,
// .ckpt, .pt, .pth, .pkl), other frameworks' formats, or a diffusers
// pipeline's single-file checkpoint; the fp16 variant of a weight file where
// one exists (variant "fp16", the default) or the full-precision one
// (variant "none"). Throws sc::Error when what is left cannot be a model.
std::vector<HubFile> select_model_files(const HubRepo& repo, const CatalogEntry* entry,
                                        const std::string& variant = "fp16");

struct PullRequest {
  std::string what;  // a catalogue name or OWNER/REPO
  std::string revision = "main";
  std::string dir;         // the model's folder; empty: <models>/<name>
  std::string models_dir;  // see models_dir()
  std::string variant = "fp16";
  HubOptions hub = hub_options_from_environment();
};

struct PullResult {
  std::string name, repo, commit;
  std::filesystem::path path;
  std::size_t files = 0;
  std::int64_t bytes = 0;    // the model's size
  std::int64_t fetched = 0;  // bytes received this time
  bool up_to_date = false;   // it was already installed at this commit
  bool updated = false;      // an older commit was replaced
};

// Pulls a model (see the layout above). Throws sc::Error saying what happened
// and what to do; an interrupted pull is resumed by the same request.
PullResult pull_model(const PullRequest& request, const DownloadProgressFn& progress, const std::atomic<bool>* cancel);

struct InstalledModel {
  std::string name, repo, revision, commit, mode;
  std::filesystem::path path;
  std::int64_t bytes = 0;           // on disk
  std::int64_t expected_bytes = 0;  // an unfinished pull: its total
  bool complete = true;             // false: an unfinished pull (resume it with `models pull`)
  bool pulled = true;               // false: a folder put there by hand
};

// What the models folder holds, by name; unfinished pulls too (complete = false).
std::vector<InstalledModel> list_models(const std::filesystem::path& models_dir);

// Deletes a pulled model and any unfinished pull of it; the bytes freed.
// Refuses a folder that `models pull` did not make.
std::int64_t remove_model(const std::filesystem::path& models_dir, const std::string& name);

// A model argument as users give it: a folder (used as it is) or the name of
// an installed model. Throws sc::Error for a known name not installed yet
// (saying how to pull it); anything else is returned unchanged, for the
// loader to report.
std::filesystem::path resolve_model_path(const std::string& arg, const std::string& models_dir_flag = "");

}  // namespace sc::app
