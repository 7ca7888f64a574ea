// streamcanvas-cli: the headless studio. Git-style subcommands; every capability
// of the GUI is scriptable from here. main only dispatches: the CLI's own
// commands are in commands.cpp, each mode's in its folder (app/modes/).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "app/cli/commands.h"
#include "app/modes/modes.h"
#include "app/session/cli_support.h"
#include "base/error.h"

int main(int argc, char** argv) {
  CLI::App app{"StreamCanvas headless studio: render, record and inspect without a window.", "streamcanvas-cli"};
  app.set_version_flag("--version", sc::app::cli_version_line());
  app.require_subcommand(0, 1);
  app.footer("Run `streamcanvas-cli COMMAND --help` for a command's options.");

  std::vector<sc::app::CliCommand> commands = sc::app::add_builtin_commands(app);
  sc::app::ModeRegistry modes;
  sc::app::register_modes(modes);
  for (const sc::app::ModeInfo& m : modes.modes())
    if (m.add_cli)
      for (sc::app::CliCommand& c : m.add_cli(app)) commands.push_back(std::move(c));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line that says what is wrong, then the usage, exit 2.
    fmt::print(stderr, "streamcanvas-cli: error: {}\n\n", e.what());
    const CLI::App* failing = &app;
    for (const CLI::App* sub = &app;;) {  // the deepest command that was given
      const CLI::App* next = nullptr;
      for (const CLI::App* c : sub->get_subcommands())
        if (c->parsed()) next = c;
      if (!next) break;
      failing = sub = next;
    }
    std::cerr << failing->help();
    return sc::app::cli::kUsageError;
  }

  try {
    for (const sc::app::CliCommand& c : commands)
      if (c.command->parsed()) return c.run();
    fmt::print(stderr, "streamcanvas-cli: error: no command given\n\n");
    std::cerr << app.help();
    return sc::app::cli::kUsageError;
  } catch (const sc::Error& e) {
    fmt::print(stderr, "streamcanvas-cli: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "streamcanvas-cli: internal error: {}\n", e.what());
    return 1;
  }
}
