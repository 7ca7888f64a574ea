#pragma once
// The modes the studio knows, registered once at start-up, like OBS's
// obs_module_load: app/modes/CMakeLists.txt lists the mode folders and
// generates register_modes() (app/modes/modes.h), one call per folder. The
// session includes no mode; the CLI and the GUI find the modes here, so a new
// mode is a folder and a line in that list, not an edit of either.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace sc::app {

// One command-line subcommand: the CLI runs `run` when `command` was given.
struct CliCommand {
  CLI::App* command = nullptr;
  std::function<int()> run;  // returns the exit code; throws sc::Error (exit 1, one line)
};

// Adds subcommands (with their options, whose values the runners own) to the CLI.
using CliRegistration = std::function<std::vector<CliCommand>(CLI::App& cli)>;

struct ModeInfo {
  std::string id;           // "img2img": the folder, the GUI panel's and the settings' name
  std::string title;        // "Img2Img (StreamDiffusion)", as the mode list shows it
  std::string summary;      // one line for tooltips and --help
  CliRegistration add_cli;  // may be empty
};

class ModeRegistry {
 public:
  // Throws sc::Error for an empty or duplicate id.
  void add(ModeInfo info);
  const std::vector<ModeInfo>& modes() const { return modes_; }
  const ModeInfo* find(std::string_view id) const;

 private:
  std::vector<ModeInfo> modes_;
};

}  // namespace sc::app
