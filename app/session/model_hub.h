#pragma once
// The model hub's HTTP API through libcurl: a repository's file list at a
// revision, and resumable, verified downloads of its files. Qt-free; used by
// `streamcanvas-cli models pull` and the studio's Download dialog through
// model_store.h.
//
// The hub (huggingface.co, or a mirror named by HF_ENDPOINT) is read the way
// its own client reads it:
//   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true
//       -> {"sha": commit, "siblings": [{"rfilename", "size", "blobId",
//           "lfs": {"sha256", "size"}}]}
//   GET {endpoint}/{repo}/resolve/{commit}/{path}   (redirects to a CDN for
//       large files; Range requests resume)
// Errors carry X-Error-Code (RepoNotFound, GatedRepo, RevisionNotFound,
// EntryNotFound) and X-Error-Message headers.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace sc::app {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string token;                                // HF_TOKEN: sent as a bearer token
  int jobs = 4;                                     // files downloaded at once
  int retries = 3;                                  // per file, after a dropped or stalled transfer (resumes)
  long connect_timeout_s = 20;
  long stall_timeout_s = 30;  // a transfer that receives nothing for this long fails (and is retried)
  double retry_delay_s = 1;   // doubled after each retry
};

// The defaults with HF_ENDPOINT and HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) from the environment.
HubOptions hub_options_from_environment();

struct HubFile {
  std::string path;  // inside the repository, '/'-separated
  std::int64_t size = -1;
  std::string sha256;   // large (LFS) files: the content's SHA-256, as the hub publishes it
  std::string git_oid;  // every file: git's blob id (SHA-1 of "blob SIZE\0" + content)
};

struct HubRepo {
  std::string repo;      // owner/name
  std::string revision;  // as asked (a branch, tag or commit)
  std::string commit;    // what it resolved to
  std::vector<HubFile> files;
};

// The repository's files at `revision`. Throws sc::Error saying what the hub
// answered (not found, gated, needs a token, no such revision, unreachable).
HubRepo fetch_repo(const HubOptions& options, const std::string& repo, const std::string& revision);

// The hub's answer to that request, parsed and checked: a commit id, and each
// file with a size and a path that stays inside the folder it is written to.
// Throws sc::Error naming what is wrong. (Fuzzed: tests/fuzz/hub_repo_fuzz.cpp.)
HubRepo parse_repo_info(const std::string& json_text, const std::string& repo, const std::string& revision);

// What a running download reports, about every 100 ms and when a file ends.
struct DownloadProgress {
  struct File {
    std::string path;
    std::int64_t size = 0, done = 0;
    enum class State { kQueued, kActive, kDone, kFailed } state = State::kQueued;
  };
  std::vector<File> files;
  std::int64_t total = 0, done = 0;
  std::int64_t resumed = 0;  // bytes that were already on disk from an earlier try
  double rate = 0;           // bytes per second over the last few seconds
  double elapsed_s = 0;
};
using DownloadProgressFn = std::function<void(const DownloadProgress&)>;

// Downloads `files` of `repo` (at repo.commit) into `folder`, keeping their
// repository paths below `strip_prefix` (e.g. "ditto_onnx/"). Each file is
// written to FILE.part, resumed from there on a later call, checked against
// its size and hash, and only then renamed to FILE; a file already there
// under its final name was checked before and is kept. `jobs` files run at
// once. Throws sc::Error naming the file and the cause (HTTP status, stall,
// checksum, disk) once every other file has finished or stopped; what was
// received is kept for the next try. A set `cancel` stops every transfer.
void download_files(const HubOptions& options, const HubRepo& repo, const std::vector<HubFile>& files,
                    const std::filesystem::path& folder, const std::string& strip_prefix,
                    const DownloadProgressFn& progress, const std::atomic<bool>* cancel);

// Hex digests (lower case), from OpenSSL.
std::string sha256_hex(const void* data, std::size_t size);
std::string git_blob_oid(const void* data, std::size_t size);
// The same for a file on disk; throws sc::Error if it cannot be read.
std::string sha256_of_file(const std::filesystem::path& file);

}  // namespace sc::app
