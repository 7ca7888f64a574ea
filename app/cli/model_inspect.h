#pragma once
// `streamcanvas-cli models inspect DIR`: what a downloaded model folder holds
// and whether StreamCanvas can load it (engine/models/model_folder.h does the
// work; this renders it as text or JSON).
#include <string>

namespace sc::app {

struct ModelInspectOutput {
  std::string text;
  bool ok = false;  // every component loads: nothing missing, misshapen or unused
};

// Throws sc::Error when dir is not a folder. manifest (may be empty): a
// tensor list standing in for the folder's weights (tests/golden/manifests).
ModelInspectOutput inspect_model_folder(const std::string& dir, const std::string& variant, bool json,
                                        const std::string& manifest = "");

}  // namespace sc::app
