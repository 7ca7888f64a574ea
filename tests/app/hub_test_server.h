#pragma once
// A model hub on the loopback address for the `models pull` tests: the hub's
// URL layout and headers (the file list at /api/models/OWNER/NAME/revision/REV
// with sizes, blob ids and LFS SHA-256s; files at /OWNER/NAME/resolve/REV/PATH,
// large ones through a redirect; Range requests; X-Error-Code on errors), and
// the faults a real network has: a dropped connection, a stall, a corrupted
// body, an ignored Range, an error status.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sc::test {

class HubTestServer {
 public:
  struct File {
    std::string path, content;
    bool lfs = false;               // listed with an LFS SHA-256, served through a redirect
    std::int64_t drop_after = -1;   // close the connection after this many body bytes...
    int drop_times = 0;             // ...this many times
    std::int64_t stall_after = -1;  // send this many body bytes, then nothing (until the client leaves)
    bool corrupt = false;           // one byte of the body differs from what the listing hashes
    bool ignore_range = false;      // answer a Range request with the whole file (200)
    int status = 0;                 // answer with this HTTP status instead
    int chunk_delay_ms = 0;         // pause between 8 KiB chunks
    std::int64_t listed_size = -1;  // list this size instead of the content's
  };
  struct Repo {
    std::string name;    // owner/name
    std::string commit;  // 40 hex digits
    std::vector<File> files;
    bool gated = false;  // 403 GatedRepo without the token
    std::string token;   // when set, requests must carry "Bearer TOKEN" (else 401)
  };
  struct Request {
    std::string method, target, range, authorization;
  };

  HubTestServer();
  ~HubTestServer();
  HubTestServer(const HubTestServer&) = delete;
  HubTestServer& operator=(const HubTestServer&) = delete;

  void set_repo(Repo repo);  // adds or replaces by name
  std::string endpoint() const { return endpoint_; }
  std::vector<Request> requests() const;
  void clear_requests();
  int peak_transfers() const { return peak_; }

 private:
  void accept_loop();
  void serve(int fd);
  bool send_all(int fd, const std::string& data);
  void send_body(int fd, const File& f, const std::string& body);

  int listen_fd_ = -1;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  std::vector<std::thread> connections_;
  std::vector<Repo> repos_;
  std::vector<Request> requests_;
  std::atomic<int> active_{0}, peak_{0};
};

}  // namespace sc::test
