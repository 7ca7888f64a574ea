#pragma once
// The CLI's own subcommands, beside the modes' (app/session/mode_registry.h).
#include <string>
#include <vector>

#include "app/session/mode_registry.h"

namespace sc::app {

std::string cli_version_line();
// doctor, sources, record, transcode, models inspect, models run, tokenize.
std::vector<CliCommand> add_builtin_commands(CLI::App& app);

}  // namespace sc::app
