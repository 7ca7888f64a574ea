#include "tests/app/hub_test_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "app/session/model_hub.h"

namespace sc::test {
namespace {

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string response_head(int status, const std::string& reason, const std::vector<std::string>& headers,
                          std::int64_t length) {
  std::string h = fmt::format("HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Length: {}\r\n", status, reason, length);
  for (const std::string& x : headers) h += x + "\r\n";
  return h + "\r\n";
}

}  // namespace

HubTestServer::HubTestServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("bind/listen on 127.0.0.1 failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  endpoint_ = fmt::format("http://127.0.0.1:{}", ntohs(addr.sin_port));
  acceptor_ = std::thread([this] { accept_loop(); });
}

HubTestServer::~HubTestServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(mutex_);
    conns.swap(connections_);
  }
  for (std::thread& t : conns) t.join();
}

void HubTestServer::set_repo(Repo repo) {
  std::lock_guard lock(mutex_);
  for (Repo& r : repos_)
    if (r.name == repo.name) {
      r = std::move(repo);
      return;
    }
  repos_.push_back(std::move(repo));
}

std::vector<HubTestServer::Request> HubTestServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void HubTestServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void HubTestServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

bool HubTestServer::send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += std::size_t(n);
  }
  return true;
}

void HubTestServer::send_body(int fd, const File& f, const std::string& body) {
  const int now = ++active_;
  for (int peak = peak_; now > peak && !peak_.compare_exchange_weak(peak, now);) {
  }
  std::int64_t sent = 0;
  const std::int64_t limit = f.stall_after >= 0 ? f.stall_after : std::int64_t(body.size());
  bool ok = true;
  while (ok && sent < std::min<std::int64_t>(limit, std::int64_t(body.size()))) {
    const std::int64_t n = std::min<std::int64_t>(8192, std::min<std::int64_t>(limit, body.size()) - sent);
    ok = send_all(fd, body.substr(std::size_t(sent), std::size_t(n)));
    sent += n;
    if (f.chunk_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.chunk_delay_ms));
  }
  if (f.stall_after >= 0) {
    // Stalled: hold the connection open, sending nothing, until the client
    // gives up or the server stops.
    while (!stop_) {
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 50) > 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) break;
      }
    }
  }
  --active_;
}

void HubTestServer::serve(int fd) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536 && !stop_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, std::size_t(n));
  }
  Request req;
  {
    const auto eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    const auto a = line.find(' '), b = line.rfind(' ');
    if (a == std::string::npos || b == a) return;
    req.method = line.substr(0, a);
    req.target = line.substr(a + 1, b - a - 1);
    std::size_t pos = eol + 2;
    while (pos < head.size()) {
      const auto e = head.find("\r\n", pos);
      if (e == std::string::npos || e == pos) break;
      const std::string h = head.substr(pos, e - pos);
      const auto colon = h.find(':');
      if (colon != std::string::npos) {
        const std::string name = lower(h.substr(0, colon));
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "range") req.range = value;
        if (name == "authorization") req.authorization = value;
      }
      pos = e + 2;
    }
  }
  Repo repo;
  bool found = false;
  File file;
  bool have_file = false;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(req);
  }
  auto error = [&](int status, const std::string& reason, const std::string& code, const std::string& message) {
    send_all(fd, response_head(status, reason,
                               {"X-Error-Code: " + code, "X-Error-Message: " + message, "Content-Type: text/plain"},
                               std::int64_t(message.size())) +
                     message);
  };
  std::string target = req.target;
  const auto q = target.find('?');
  const std::string path = url_decode(target.substr(0, q));

  // Which repository: /api/models/O/N/revision/REV, /O/N/resolve/REV/PATH, /cdn/O/N/PATH.
  std::string repo_name, rest, revision;
  bool api = false, cdn = false;
  {
    std::vector<std::string> parts;
    std::size_t s = 1;
    while (s <= path.size()) {
      const auto e = path.find('/', s);
      parts.push_back(path.substr(s, e == std::string::npos ? std::string::npos : e - s));
      if (e == std::string::npos) break;
      s = e + 1;
    }
    if (parts.size() >= 6 && parts[0] == "api" && parts[1] == "models" && parts[4] == "revision") {
      api = true;
      repo_name = parts[2] + "/" + parts[3];
      revision = parts[5];
      for (std::size_t i = 6; i < parts.size(); ++i) revision += "/" + parts[i];
    } else if (parts.size() >= 4 && parts[0] == "cdn") {
      cdn = true;
      repo_name = parts[1] + "/" + parts[2];
      for (std::size_t i = 3; i < parts.size(); ++i) rest += (i > 3 ? "/" : "") + parts[i];
    } else if (parts.size() >= 5 && parts[2] == "resolve") {
      repo_name = parts[0] + "/" + parts[1];
      revision = parts[3];
      for (std::size_t i = 4; i < parts.size(); ++i) rest += (i > 4 ? "/" : "") + parts[i];
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (Repo& r : repos_) {
      if (r.name != repo_name) continue;
      repo = r;
      found = true;
      if (api) break;
      for (File& f : r.files) {
        if (f.path != rest) continue;
        file = f;
        have_file = true;
        if (f.drop_times > 0 && cdn == f.lfs) --f.drop_times;  // counted where the body is sent
      }
    }
  }
  if (!cdn) {
    if (!found || (!repo.token.empty() && req.authorization != "Bearer " + repo.token))
      return error(401, "Unauthorized", "RepoNotFound", "Repository not found");
    if (repo.gated && req.authorization.empty())
      return error(403, "Forbidden", "GatedRepo", "Access to model " + repo.name + " is restricted");
    if (revision != "main" && revision != repo.commit)
      return error(404, "Not Found", "RevisionNotFound", "Invalid rev id: " + revision);
  }
  if (api) {
    nlohmann::json j = {{"id", repo.name}, {"sha", repo.commit}, {"siblings", nlohmann::json::array()}};
    for (const File& f : repo.files) {
      const std::int64_t size = f.listed_size >= 0 ? f.listed_size : std::int64_t(f.content.size());
      nlohmann::json s = {
          {"rfilename", f.path}, {"size", size}, {"blobId", app::git_blob_oid(f.content.data(), f.content.size())}};
      if (f.lfs)
        s["lfs"] = {
            {"sha256", app::sha256_hex(f.content.data(), f.content.size())}, {"size", size}, {"pointerSize", 134}};
      j["siblings"].push_back(std::move(s));
    }
    const std::string body = j.dump();
    send_all(fd, response_head(200, "OK", {"Content-Type: application/json", "X-Repo-Commit: " + repo.commit},
                               std::int64_t(body.size())) +
                     body);
    return;
  }
  if (!found || !have_file) return error(404, "Not Found", "EntryNotFound", "Entry not found");
  if (file.lfs && !cdn) {  // large files come from the CDN
    const std::string location = fmt::format("{}/cdn/{}/{}", endpoint_, repo.name, file.path);
    send_all(fd, response_head(302, "Found", {"Location: " + location, "X-Repo-Commit: " + repo.commit}, 0));
    return;
  }
  if (file.status) return error(file.status, "Error", "", "injected");
  std::string body = file.content;
  if (file.corrupt && !body.empty()) body[body.size() / 2] ^= 0x5a;
  std::int64_t from = 0;
  const auto size = std::int64_t(body.size());
  if (!file.ignore_range && req.range.rfind("bytes=", 0) == 0) from = std::stoll(req.range.substr(6));
  if (from > 0 && from >= size) {
    send_all(fd, response_head(416, "Range Not Satisfiable", {fmt::format("Content-Range: bytes */{}", size)}, 0));
    return;
  }
  std::string part = body.substr(std::size_t(from));
  if (file.drop_after >= 0 && file.drop_times > 0) {
    // Promise the whole part, send some of it, hang up.
    const std::string head_text =
        from > 0 ? response_head(206, "Partial Content",
                                 {fmt::format("Content-Range: bytes {}-{}/{}", from, size - 1, size)},
                                 std::int64_t(part.size()))
                 : response_head(200, "OK", {}, std::int64_t(part.size()));
    if (!send_all(fd, head_text)) return;
    File cut = file;
    cut.stall_after = -1;
    send_body(fd, cut, part.substr(0, std::size_t(std::min<std::int64_t>(file.drop_after, part.size()))));
    return;
  }
  const std::string head_text =
      from > 0 ? response_head(206, "Partial Content",
                               {fmt::format("Content-Range: bytes {}-{}/{}", from, size - 1, size), "ETag: \"x\""},
                               std::int64_t(part.size()))
               : response_head(200, "OK", {"ETag: \"x\""}, std::int64_t(part.size()));
  if (!send_all(fd, head_text)) return;
  send_body(fd, file, part);
}

}  // namespace sc::test
