#pragma once
// Registers every mode of app/modes/ (the list in app/modes/CMakeLists.txt).
#include "app/session/mode_registry.h"

namespace sc::app {

void register_modes(ModeRegistry& registry);

}  // namespace sc::app
