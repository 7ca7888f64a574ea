#pragma once
// A registered avatar (registration.h) as a file, so a portrait opened again
// skips registration: one safetensors file holding every tensor of the
// Avatar and its small fields as tensors (the crop matrices as the bits of
// their doubles, so they come back exactly), plus string metadata the caller
// chooses (the cache key). Read back, every value is bit-identical.
#include <filesystem>
#include <map>
#include <string>

#include "engine/pipelines/talking_head/registration.h"

namespace sc::engine::talking_head {

// Written beside `path` and renamed into place (a failed write leaves no half
// file). Throws sc::Error naming the file.
void save_avatar(const std::filesystem::path& path, const Avatar& avatar,
                 const std::map<std::string, std::string>& metadata = {});

// Throws sc::Error naming the file when it is not an avatar file of this
// format (or a tensor is missing or misshapen); `metadata`, when given,
// receives the file's metadata. Tensors come back on the host.
Avatar load_avatar(const std::filesystem::path& path, std::map<std::string, std::string>* metadata = nullptr);

}  // namespace sc::engine::talking_head
