#pragma once
// Facts about the process environment that several modules need: is there a
// display to open a window on, and which; how much memory the process holds.
#include <string>

namespace sc {

struct DisplayInfo {
  bool available = false;  // a window can be opened
  std::string kind;        // "x11" or "wayland" when available
  std::string name;        // $DISPLAY or $WAYLAND_DISPLAY
  std::string reason;      // why not, when !available
};

// Checks for a usable display: $WAYLAND_DISPLAY with its socket, or $DISPLAY with
// an X server that accepts a connection (libxcb is loaded at run time, so this
// works in binaries that do not link X).
DisplayInfo probe_display();

// Resident memory of this process in KiB (/proc/self/statm), 0 when unknown.
// Under a sanitizer it includes shadow memory: compare it within one build.
long resident_memory_kib();

// Bytes the heap has handed out and not taken back: the allocator's own
// count (glibc's, or the sanitizer's own allocator in a sanitizer build),
// so a leak check means the same under ASan, whose RSS holds shadow memory
// and a quarantine of freed blocks.
long long heap_bytes_in_use();

}  // namespace sc
