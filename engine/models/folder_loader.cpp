#include "engine/models/folder_loader.h"

#include "base/error.h"

namespace sc::engine {

void require_all_used(const WeightSource& weights, std::string_view model) {
  if (const auto unused = weights.unused(); !unused.empty()) {
    throw Error("{}: {} tensors not used by {}, e.g. {}", weights.source(), unused.size(), model, unused.front());
  }
}

}  // namespace sc::engine
