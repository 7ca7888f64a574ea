#pragma once
// `models pull`, `models list` and `models remove` under the CLI's `models` command.
#include <vector>

#include "app/session/mode_registry.h"

namespace sc::app {

std::vector<CliCommand> add_model_store_commands(CLI::App& models);

}  // namespace sc::app
