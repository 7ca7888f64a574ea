#pragma once
// A command-line option that takes a model: a folder, or the name of a model
// `models pull` installed (sd-turbo, taesd, ditto, llava-onevision-0.5b; see
// `streamcanvas-cli models list`). Header-only: the modes' subcommands use it.
#include <CLI/CLI.hpp>

#include <string>

#include "app/session/model_store.h"
#include "base/error.h"

namespace sc::app::cli {

// Turns an installed model's name into its folder as the option is parsed; a
// known name that is not installed yet is a usage error that says how to pull it.
inline CLI::Validator model_folder_or_name() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          value = resolve_model_path(value).string();
        } catch (const Error& e) {
          return e.what();
        }
        return {};
      },
      "", "model folder or name");
}

}  // namespace sc::app::cli
