// libFuzzer target: the model hub's answer to `models pull` (the JSON file
// list of a repository at a revision), parsed and checked by
// parse_repo_info, then the file selection that decides what is downloaded,
// with and without each known model's rules. Only sc::Error may come out; a
// path that escapes the model's folder must never get through.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "app/session/model_hub.h"
#include "app/session/model_store.h"
#include "base/error.h"

namespace {

bool escapes(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string::npos || p.find('\\') != std::string::npos)
    return true;
  for (std::size_t start = 0;;) {
    const auto slash = p.find('/', start);
    const std::string seg = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return true;
    if (slash == std::string::npos) return false;
    start = slash + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  sc::app::HubRepo repo;
  try {
    repo = sc::app::parse_repo_info(text, "fuzz/repo", "main");
  } catch (const sc::Error&) {
    return 0;
  }
  for (const sc::app::HubFile& f : repo.files)
    if (escapes(f.path) || f.size < 0) std::abort();
  for (const char* variant : {"fp16", "none"}) {
    try {
      sc::app::select_model_files(repo, nullptr, variant);
    } catch (const sc::Error&) {
    }
    for (const sc::app::CatalogEntry& e : sc::app::model_catalog()) {
      try {
        for (const sc::app::HubFile& f : sc::app::select_model_files(repo, &e, variant))
          if (!e.subfolder.empty() && f.path.rfind(e.subfolder, 0) != 0) std::abort();
      } catch (const sc::Error&) {
      }
    }
  }
  return 0;
}
