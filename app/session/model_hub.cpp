#include "app/session/model_hub.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "sc/version.h"

namespace sc::app {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw Error("libcurl would not start: {}", curl_easy_strerror(rc));
  });
}

// ---- hashing (OpenSSL's EVP digests) ------------------------------------------

class Digest {
 public:
  explicit Digest(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) throw Error("OpenSSL could not start a digest");
  }
  ~Digest() { EVP_MD_CTX_free(ctx_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, out, &n);
    std::string s;
    for (unsigned int i = 0; i < n; ++i) s += fmt::format("{:02x}", out[i]);
    return s;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// What a downloaded file is checked against: the LFS SHA-256 when the hub
// gives one, else git's blob id (which covers every file).
class FileCheck {
 public:
  explicit FileCheck(const HubFile& f)
      : lfs_(!f.sha256.empty()), expected_(lfs_ ? f.sha256 : f.git_oid), digest_(lfs_ ? EVP_sha256() : EVP_sha1()) {
    if (!lfs_) {
      const std::string header = fmt::format("blob {}", f.size);
      digest_.update(header.data(), header.size() + 1);  // with its NUL
    }
  }
  bool enabled() const { return !expected_.empty(); }
  void update(const void* data, std::size_t n) { digest_.update(data, n); }
  // Empty when it matches; otherwise what was found.
  std::string mismatch() {
    const std::string got = digest_.hex();
    return got == expected_ ? std::string() : got;
  }
  const char* kind() const { return lfs_ ? "SHA-256" : "git blob id"; }
  const std::string& expected() const { return expected_; }

 private:
  bool lfs_;
  std::string expected_;
  Digest digest_;
};

// ---- HTTP -----------------------------------------------------------------------

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// The headers of the last response (a redirect's headers are replaced by the
// next response's).
struct ResponseHeaders {
  std::string error_code, error_message, content_range, commit;
  long status = 0;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* h = static_cast<ResponseHeaders*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    *h = ResponseHeaders{};
    const auto sp = line.find(' ');
    if (sp != std::string::npos) h->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  if (name == "x-error-code") h->error_code = value;
  if (name == "x-error-message") h->error_message = value;
  if (name == "content-range") h->content_range = value;
  if (name == "x-repo-commit") h->commit = value;
  return size * n;
}

SlistPtr request_headers(const HubOptions& o) {
  curl_slist* list = nullptr;
  if (!o.token.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + o.token).c_str());
  return SlistPtr(list);
}

CurlPtr new_easy(const HubOptions& o, const std::string& url, curl_slist* headers, ResponseHeaders* response) {
  init_curl();
  CurlPtr c(curl_easy_init());
  if (!c) throw Error("libcurl could not make a transfer handle");
  static const std::string agent = fmt::format("streamcanvas/{}", kVersion);
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
  // The token goes to the hub only, never to the host a redirect names.
  curl_easy_setopt(c.get(), CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, response);
  return c;
}

std::string escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), int(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// A repository path with each segment escaped, the slashes kept.
std::string escape_path(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    out += escape(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string trimmed_endpoint(const HubOptions& o) {
  std::string e = o.endpoint;
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

// What an HTTP error means, in the user's words.
std::string http_error_text(const HubOptions& o, const ResponseHeaders& h, const std::string& repo,
                            const std::string& revision, const std::string& file) {
  const std::string page = trimmed_endpoint(o) + "/" + repo;
  const std::string hub_says = h.error_message.empty() ? "" : fmt::format(" (the hub says: {})", h.error_message);
  if (h.error_code == "GatedRepo" || (h.status == 403 && h.error_code.empty()))
    return fmt::format("{} is gated: accept its terms at {} and set HF_TOKEN to an access token of that account{}",
                       repo, page, hub_says);
  if (h.error_code == "RevisionNotFound")
    return fmt::format("{} has no revision '{}'; check --revision{}", repo, revision, hub_says);
  if (h.error_code == "EntryNotFound" || (!file.empty() && h.status == 404))
    return fmt::format("{}: '{}' is listed at {} but the hub answered {}{}", repo, file, revision, h.status, hub_says);
  if (h.status == 401 && !o.token.empty())
    return fmt::format(
        "{}: the hub refused HF_TOKEN (401); check the token, or whether its account may read the "
        "repository{}",
        repo, hub_says);
  if (h.status == 401 || h.status == 404 || h.error_code == "RepoNotFound")
    return fmt::format("no repository '{}' at {} ({}): check the name; a private or gated one needs HF_TOKEN{}", repo,
                       trimmed_endpoint(o), h.status, hub_says);
  if (h.status == 429) return fmt::format("{}: the hub asks us to slow down (429); try again later{}", repo, hub_says);
  return fmt::format("{}: the hub answered HTTP {}{}", repo, h.status, hub_says);
}

std::string transport_error_text(const HubOptions& o, CURLcode rc, const char* detail) {
  const std::string what = detail && *detail ? detail : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return fmt::format("could not reach {} ({}): is the network up? A mirror can be named with HF_ENDPOINT",
                         trimmed_endpoint(o), what);
    case CURLE_OPERATION_TIMEDOUT:
      return fmt::format("the server stopped sending ({}; nothing came for {} s)", what, o.stall_timeout_s);
    default:
      return what;
  }
}

std::string body_snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() > (64u << 20)) return 0;  // a file list is never this big
  s->append(data, size * n);
  return size * n;
}

// A repository path that stays inside the folder it is written to.
bool safe_relative_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.back() == '/' || p.find('\\') != std::string::npos ||
      p.find('\0') != std::string::npos)
    return false;
  std::size_t start = 0;
  while (true) {
    const auto slash = p.find('/', start);
    const std::string seg = p.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

}  // namespace

HubOptions hub_options_from_environment() {
  HubOptions o;
  if (const char* e = std::getenv("HF_ENDPOINT"); e && *e) o.endpoint = e;
  if (const char* t = std::getenv("HF_TOKEN"); t && *t)
    o.token = t;
  else if (const char* t2 = std::getenv("HUGGING_FACE_HUB_TOKEN"); t2 && *t2)
    o.token = t2;
  return o;
}

HubRepo parse_repo_info(const std::string& text, const std::string& repo, const std::string& revision) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error("{}: the hub's file list is not JSON: '{}'", repo, body_snippet(text));
  HubRepo r;
  r.repo = repo;
  r.revision = revision;
  if (j.contains("sha") && j["sha"].is_string()) r.commit = j["sha"].get<std::string>();
  if (r.commit.empty() || r.commit.size() > 64 || r.commit.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error("{}: the hub's file list has no commit id (\"sha\")", repo);
  if (!j.contains("siblings") || !j["siblings"].is_array())
    throw Error("{}: the hub's file list has no \"siblings\" array", repo);
  for (const auto& s : j["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string())
      throw Error("{}: an entry of the hub's file list has no \"rfilename\"", repo);
    HubFile f;
    f.path = s["rfilename"].get<std::string>();
    if (!safe_relative_path(f.path))
      throw Error("{}: the hub lists a file with an unsafe path '{}' (refused)", repo, f.path);
    if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<std::int64_t>();
    if (s.contains("blobId") && s["blobId"].is_string()) f.git_oid = s["blobId"].get<std::string>();
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const auto& l = s["lfs"];
      if (l.contains("sha256") && l["sha256"].is_string()) f.sha256 = l["sha256"].get<std::string>();
      if (l.contains("size") && l["size"].is_number_integer()) f.size = l["size"].get<std::int64_t>();
    }
    if (f.size < 0) throw Error("{}: the hub's file list gives no size for '{}'", repo, f.path);
    r.files.push_back(std::move(f));
  }
  return r;
}

HubRepo fetch_repo(const HubOptions& o, const std::string& repo, const std::string& revision) {
  const std::string url =
      fmt::format("{}/api/models/{}/revision/{}?blobs=true", trimmed_endpoint(o), repo, escape(revision));
  ResponseHeaders h;
  SlistPtr headers = request_headers(o);
  CurlPtr c = new_easy(o, url, headers.get(), &h);
  std::string body;
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, std::max(60L, o.stall_timeout_s * 2));
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) throw Error("{}: {}", repo, transport_error_text(o, rc, detail));
  if (h.status != 200) throw Error(http_error_text(o, h, repo, revision, ""));
  return parse_repo_info(body, repo, revision);
}

std::string sha256_hex(const void* data, std::size_t size) {
  Digest d(EVP_sha256());
  d.update(data, size);
  return d.hex();
}

std::string git_blob_oid(const void* data, std::size_t size) {
  Digest d(EVP_sha1());
  const std::string header = fmt::format("blob {}", size);
  d.update(header.data(), header.size() + 1);
  d.update(data, size);
  return d.hex();
}

std::string sha256_of_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read {}: {}", file.string(), errno_text(errno));
  Digest d(EVP_sha256());
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    d.update(buf.data(), std::size_t(in.gcount()));
  }
  return d.hex();
}

// ---- downloads ------------------------------------------------------------------

namespace {

struct FileJob {
  const HubFile* file = nullptr;
  fs::path final_path, part_path;
  std::atomic<std::int64_t> done{0};
  std::atomic<int> state{int(DownloadProgress::File::State::kQueued)};
  std::string error;
};

// One transfer's state, seen by libcurl's callbacks.
struct Transfer {
  FileJob* job = nullptr;
  int fd = -1;
  std::int64_t offset = 0;  // bytes on disk when this transfer started
  std::int64_t written = 0;
  ResponseHeaders headers;
  std::string error_body;
  int write_errno = 0;
  bool restarted = false;  // the server ignored the Range and sent the whole file
  std::unique_ptr<FileCheck> check;
  const std::atomic<bool>* cancel = nullptr;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  const long status = t->headers.status;
  if (status != 200 && status != 206) {  // an error page: kept for the message, not written
    if (t->error_body.size() < 4096) t->error_body.append(data, std::min<std::size_t>(bytes, 4096));
    return bytes;
  }
  if (t->written == 0 && t->offset > 0 && status == 200 && !t->restarted) {
    // The whole file came instead of the rest: start the file again.
    if (::ftruncate(t->fd, 0) != 0 || ::lseek(t->fd, 0, SEEK_SET) != 0) {
      t->write_errno = errno;
      return 0;
    }
    t->restarted = true;
    t->offset = 0;
    t->check = std::make_unique<FileCheck>(*t->job->file);
    t->job->done = 0;
  }
  const char* p = data;
  std::size_t left = bytes;
  while (left > 0) {
    const ssize_t w = ::write(t->fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      t->write_errno = errno;
      return 0;
    }
    p += w;
    left -= std::size_t(w);
  }
  t->check->update(data, bytes);
  t->written += std::int64_t(bytes);
  t->job->done = t->offset + t->written;
  return bytes;
}

int on_transfer_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancel && t->cancel->load() ? 1 : 0;
}

enum class Outcome { kDone, kRetry, kRetryFromZero, kFail, kCancelled };

// Reads what is already in `part` into the check; its size.
std::int64_t hash_existing(const fs::path& part, FileCheck& check) {
  std::ifstream in(part, std::ios::binary);
  if (!in) return 0;
  std::vector<char> buf(1 << 20);
  std::int64_t n = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    check.update(buf.data(), std::size_t(in.gcount()));
    n += in.gcount();
  }
  return n;
}

Outcome transfer_once(const HubOptions& o, const HubRepo& repo, FileJob& job, const std::atomic<bool>* cancel) {
  const HubFile& f = *job.file;
  Transfer t;
  t.job = &job;
  t.cancel = cancel;
  t.check = std::make_unique<FileCheck>(f);
  std::error_code ec;
  std::int64_t have = 0;
  if (fs::is_regular_file(job.part_path, ec)) {
    have = std::int64_t(fs::file_size(job.part_path, ec));
    if (ec || have > f.size) {
      fs::remove(job.part_path, ec);
      have = 0;
    }
  }
  if (have > 0) have = hash_existing(job.part_path, *t.check);
  t.offset = have;
  job.done = have;
  t.fd = ::open(job.part_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (t.fd < 0) {
    job.error = fmt::format("cannot write {}: {}", job.part_path.string(), errno_text(errno));
    return Outcome::kFail;
  }
  struct CloseFd {
    int& fd;
    ~CloseFd() {
      if (fd >= 0) ::close(fd);
    }
  } close_fd{t.fd};

  CURLcode rc = CURLE_OK;
  char detail[CURL_ERROR_SIZE] = {};
  if (have < f.size || f.size == 0) {
    const std::string url =
        fmt::format("{}/{}/resolve/{}/{}", trimmed_endpoint(o), repo.repo, repo.commit, escape_path(f.path));
    SlistPtr headers = request_headers(o);
    CurlPtr c = new_easy(o, url, headers.get(), &t.headers);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_transfer_progress);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, detail);
    // A Range header rather than CURLOPT_RESUME_FROM: a server that answers
    // 200 with the whole file is then handled here (the file starts again)
    // instead of failing the transfer.
    const std::string range = fmt::format("{}-", have);
    if (have > 0) curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
    rc = curl_easy_perform(c.get());
  }
  const std::string name = f.path;
  if (rc == CURLE_ABORTED_BY_CALLBACK && cancel && *cancel) return Outcome::kCancelled;
  if (t.write_errno != 0) {
    job.error = fmt::format("{}: cannot write {}: {}; free some space and run again to resume", name,
                            job.part_path.string(), errno_text(t.write_errno));
    return Outcome::kFail;
  }
  if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
    job.error = fmt::format("{}: the connection closed after {} of {} bytes", name, t.offset + t.written, f.size);
    return Outcome::kRetry;
  }
  if (rc != CURLE_OK) {
    job.error = fmt::format("{}: {}", name, transport_error_text(o, rc, detail));
    return rc == CURLE_COULDNT_RESOLVE_HOST ? Outcome::kFail : Outcome::kRetry;
  }
  const long status = t.headers.status;
  if (status == 416) {  // the part is not a prefix the server recognises
    job.error = fmt::format("{}: the server refused to resume at byte {} (416)", name, have);
    return Outcome::kRetryFromZero;
  }
  if (status != 0 && status != 200 && status != 206) {
    ResponseHeaders h = t.headers;
    job.error = http_error_text(o, h, repo.repo, repo.revision, f.path);
    return status >= 500 ? Outcome::kRetry : Outcome::kFail;
  }
  if (status == 206 && have > 0 && t.headers.content_range.rfind(fmt::format("bytes {}-", have), 0) != 0) {
    job.error =
        fmt::format("{}: asked to resume at byte {}, the server sent '{}'", name, have, t.headers.content_range);
    return Outcome::kRetryFromZero;
  }
  const std::int64_t size_now = t.offset + t.written;
  if (size_now < f.size) {
    job.error = fmt::format("{}: the connection closed after {} of {} bytes", name, size_now, f.size);
    return Outcome::kRetry;
  }
  if (size_now > f.size) {
    job.error = fmt::format("{}: the server sent {} bytes, the hub lists {}", name, size_now, f.size);
    return Outcome::kRetryFromZero;
  }
  if (::fsync(t.fd) != 0) {
    job.error = fmt::format("{}: cannot write {}: {}", name, job.part_path.string(), errno_text(errno));
    return Outcome::kFail;
  }
  if (t.check->enabled()) {
    const std::string got = t.check->mismatch();
    if (!got.empty()) {
      job.error = fmt::format("{}: checksum mismatch: its {} is {}, the hub publishes {}; the file was removed", name,
                              t.check->kind(), got, t.check->expected());
      fs::remove(job.part_path, ec);
      return have > 0 ? Outcome::kRetryFromZero : Outcome::kFail;
    }
  }
  fs::rename(job.part_path, job.final_path, ec);
  if (ec) {
    job.error = fmt::format("{}: cannot rename {} to {}: {}", name, job.part_path.string(), job.final_path.string(),
                            ec.message());
    return Outcome::kFail;
  }
  return Outcome::kDone;
}

void run_job(const HubOptions& o, const HubRepo& repo, FileJob& job, const std::atomic<bool>* cancel) {
  using State = DownloadProgress::File::State;
  job.state = int(State::kActive);
  double delay = o.retry_delay_s;
  for (int attempt = 0;; ++attempt) {
    const Outcome r = transfer_once(o, repo, job, cancel);
    if (r == Outcome::kDone) {
      job.error.clear();
      job.state = int(State::kDone);
      return;
    }
    std::error_code ec;
    if (r == Outcome::kRetryFromZero) fs::remove(job.part_path, ec);
    if (r == Outcome::kCancelled || r == Outcome::kFail || attempt >= o.retries) {
      if (r == Outcome::kCancelled) job.error = "stopped";
      job.state = int(State::kFailed);
      return;
    }
    log::warn("{}; trying again ({} of {})", job.error, attempt + 1, o.retries);
    const auto until = Clock::now() + std::chrono::duration<double>(delay);
    while (Clock::now() < until && !(cancel && *cancel)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    delay *= 2;
  }
}

}  // namespace

void download_files(const HubOptions& o, const HubRepo& repo, const std::vector<HubFile>& files, const fs::path& folder,
                    const std::string& strip_prefix, const DownloadProgressFn& progress,
                    const std::atomic<bool>* cancel) {
  using State = DownloadProgress::File::State;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot make {}: {}", folder.string(), ec.message());
  std::deque<FileJob> jobs;  // stable addresses
  std::int64_t total = 0, resumed = 0, to_fetch = 0;
  for (const HubFile& f : files) {
    FileJob& j = jobs.emplace_back();
    j.file = &f;
    std::string rel = f.path;
    if (!strip_prefix.empty() && rel.rfind(strip_prefix, 0) == 0) rel = rel.substr(strip_prefix.size());
    j.final_path = folder / rel;
    j.part_path = folder / (rel + ".part");
    fs::create_directories(j.final_path.parent_path(), ec);
    if (ec) throw Error("cannot make {}: {}", j.final_path.parent_path().string(), ec.message());
    total += f.size;
    if (fs::is_regular_file(j.final_path, ec) && std::int64_t(fs::file_size(j.final_path, ec)) == f.size) {
      j.done = f.size;  // checked when it was renamed to its final name
      j.state = int(State::kDone);
      resumed += f.size;
      continue;
    }
    fs::remove(j.final_path, ec);
    std::int64_t part = 0;
    if (fs::is_regular_file(j.part_path, ec)) part = std::min<std::int64_t>(fs::file_size(j.part_path, ec), f.size);
    resumed += part;
    to_fetch += f.size - part;
  }
  struct statvfs vfs {};
  if (::statvfs(folder.c_str(), &vfs) == 0) {
    const auto free_bytes = std::int64_t(vfs.f_bavail) * std::int64_t(vfs.f_frsize);
    if (to_fetch > free_bytes)
      throw Error(
          "{} needs {:.2f} GiB more but its disk has {:.2f} GiB free; free some space or choose another "
          "folder (--models-dir or SC_MODELS)",
          folder.string(), to_fetch / double(1 << 30), free_bytes / double(1 << 30));
  }

  std::vector<FileJob*> order;
  for (FileJob& j : jobs)
    if (j.state != int(State::kDone)) order.push_back(&j);
  std::sort(order.begin(), order.end(), [](FileJob* a, FileJob* b) { return a->file->size > b->file->size; });
  std::atomic<std::size_t> next{0};
  std::atomic<int> running{0};
  std::vector<std::thread> workers;
  const int n_workers = int(std::min<std::size_t>(std::size_t(std::max(1, o.jobs)), order.size()));
  running = n_workers;
  for (int w = 0; w < n_workers; ++w)
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < order.size() && !(cancel && *cancel);) run_job(o, repo, *order[i], cancel);
      --running;
    });

  const Clock::time_point start = Clock::now();
  std::deque<std::pair<Clock::time_point, std::int64_t>> samples;  // for the rate
  auto report = [&] {
    if (!progress) return;
    DownloadProgress p;
    p.total = total;
    p.resumed = resumed;
    for (const FileJob& j : jobs) {
      DownloadProgress::File f;
      f.path = j.file->path;
      f.size = j.file->size;
      f.done = j.done;
      f.state = State(j.state.load());
      p.done += f.done;
      p.files.push_back(std::move(f));
    }
    const auto now = Clock::now();
    samples.emplace_back(now, p.done);
    while (samples.size() > 2 && now - samples.front().first > std::chrono::seconds(5)) samples.pop_front();
    const double span = std::chrono::duration<double>(now - samples.front().first).count();
    p.rate = span > 0.2 ? double(p.done - samples.front().second) / span : 0;
    p.elapsed_s = std::chrono::duration<double>(now - start).count();
    progress(p);
  };
  while (running > 0) {
    report();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (std::thread& t : workers) t.join();
  report();

  if (cancel && *cancel)
    throw Error("stopped; what was downloaded is kept in {}: run the same command to resume", folder.string());
  std::vector<std::string> errors;
  for (const FileJob& j : jobs)
    if (j.state != int(State::kDone)) errors.push_back(j.error.empty() ? j.file->path + ": not downloaded" : j.error);
  if (!errors.empty()) {
    std::string msg = errors.front();
    if (errors.size() > 1) msg += fmt::format(" (and {} more file(s) failed: {})", errors.size() - 1, errors[1]);
    throw Error("{}", msg);
  }
  if (int dfd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace sc::app
