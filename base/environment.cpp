#include "base/environment.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizer runtime's allocator statistics (sanitizer/allocator_interface.h,
// which gcc does not install; the function is in every sanitizer runtime).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#define SC_SANITIZER_HEAP 1
#endif

namespace sc {
namespace {

bool x11_accepts(const char* display, std::string* why) {
  void* lib = dlopen("libxcb.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    *why = "libxcb.so.1 is not installed (apt-get install libxcb1)";
    return false;
  }
  using Connect = void* (*)(const char*, int*);
  using HasError = int (*)(void*);
  using Disconnect = void (*)(void*);
  auto connect = reinterpret_cast<Connect>(dlsym(lib, "xcb_connect"));
  auto has_error = reinterpret_cast<HasError>(dlsym(lib, "xcb_connection_has_error"));
  auto disconnect = reinterpret_cast<Disconnect>(dlsym(lib, "xcb_disconnect"));
  bool ok = false;
  if (connect && has_error && disconnect) {
    void* conn = connect(display, nullptr);
    ok = conn && has_error(conn) == 0;
    if (conn) disconnect(conn);
    if (!ok) *why = std::string("cannot connect to the X server at DISPLAY=") + display;
  } else {
    *why = "libxcb.so.1 lacks xcb_connect";
  }
  dlclose(lib);
  return ok;
}

}  // namespace

DisplayInfo probe_display() {
  DisplayInfo info;
  if (const char* wl = std::getenv("WAYLAND_DISPLAY"); wl && *wl) {
    std::string path = wl;
    if (path.front() != '/') {
      const char* runtime = std::getenv("XDG_RUNTIME_DIR");
      path = std::string(runtime ? runtime : "/run/user") + "/" + path;
    }
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
      info = {true, "wayland", wl, {}};
      return info;
    }
    info.reason = "WAYLAND_DISPLAY is set but its socket " + path + " does not exist";
  }
  if (const char* x = std::getenv("DISPLAY"); x && *x) {
    std::string why;
    if (x11_accepts(x, &why)) return {true, "x11", x, {}};
    info.reason = why;
    return info;
  }
  if (info.reason.empty()) info.reason = "neither DISPLAY nor WAYLAND_DISPLAY is set";
  return info;
}

long resident_memory_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

long long heap_bytes_in_use() {
#ifdef SC_SANITIZER_HEAP
  return static_cast<long long>(__sanitizer_get_current_allocated_bytes());
#else
  const struct mallinfo2 m = mallinfo2();
  return static_cast<long long>(m.uordblks + m.hblkhd);  // small blocks in use + mmapped blocks
#endif
}

}  // namespace sc
