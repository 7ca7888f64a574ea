#include "app/session/mode_registry.h"

#include "base/error.h"

namespace sc::app {

void ModeRegistry::add(ModeInfo info) {
  if (info.id.empty()) throw Error("a mode needs an id");
  if (find(info.id)) throw Error("mode '{}' is registered twice", info.id);
  modes_.push_back(std::move(info));
}

const ModeInfo* ModeRegistry::find(std::string_view id) const {
  for (const ModeInfo& m : modes_)
    if (m.id == id) return &m;
  return nullptr;
}

}  // namespace sc::app
