#include "engine/config.h"

#include <cerrno>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/json_text.h"

namespace sc::engine {

namespace {

using nlohmann::json;

const char* kind_of(const json& v) { return detail::json_kind(v); }
std::string shown(const json& v) { return detail::json_brief(v); }

struct Field {
  const std::string& source;
  std::string path;

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw Error("config '{}': field '{}' {}", source, path, fmt::format(f, std::forward<Args>(args)...));
  }
  [[noreturn]] void wrong(const json& v, const char* expected) const {
    fail("is {} ({}), expected {}", kind_of(v), shown(v), expected);
  }
};

template <typename T>
struct Reader;

template <>
struct Reader<bool> {
  static constexpr const char* kExpected = "true or false";
  static bool read(const json& v, const Field& f) {
    if (!v.is_boolean()) f.wrong(v, kExpected);
    return v.get<bool>();
  }
};

template <typename I>
I read_integer(const json& v, const Field& f, const char* expected) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<I>::max()))
      f.fail("= {} is out of range for {}", u, expected);
    return static_cast<I>(u);
  }
  if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (s < std::numeric_limits<I>::min() || s > std::numeric_limits<I>::max()) {
      f.fail("= {} is out of range for {}", s, expected);
    }
    return static_cast<I>(s);
  }
  // 4.0 is what some exporters write for 4; a fractional value is a mistake.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<I>::min()) &&
        d <= static_cast<double>(std::numeric_limits<I>::max())) {
      return static_cast<I>(d);
    }
    f.fail("= {} is not {}", shown(v), expected);
  }
  f.wrong(v, expected);
}

template <>
struct Reader<int> {
  static constexpr const char* kExpected = "an integer";
  static int read(const json& v, const Field& f) { return read_integer<int>(v, f, "a 32-bit integer"); }
};

template <>
struct Reader<std::int64_t> {
  static constexpr const char* kExpected = "an integer";
  static std::int64_t read(const json& v, const Field& f) {
    return read_integer<std::int64_t>(v, f, "a 64-bit integer");
  }
};

template <>
struct Reader<double> {
  static constexpr const char* kExpected = "a number";
  static double read(const json& v, const Field& f) {
    if (!v.is_number()) f.wrong(v, kExpected);
    return v.get<double>();
  }
};

template <>
struct Reader<float> {
  static constexpr const char* kExpected = "a number";
  static float read(const json& v, const Field& f) {
    const double d = Reader<double>::read(v, f);
    if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
      f.fail("= {} is out of range for a 32-bit float", d);
    }
    return static_cast<float>(d);
  }
};

template <>
struct Reader<std::string> {
  static constexpr const char* kExpected = "a string";
  static std::string read(const json& v, const Field& f) {
    if (!v.is_string()) f.wrong(v, kExpected);
    return v.get<std::string>();
  }
};

template <typename E>
struct Reader<std::vector<E>> {
  static constexpr const char* kExpected = "an array";
  static std::vector<E> read(const json& v, const Field& f) {
    if (!v.is_array()) f.wrong(v, kExpected);
    std::vector<E> out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.push_back(Reader<E>::read(v[i], Field{f.source, fmt::format("{}[{}]", f.path, i)}));
    }
    return out;
  }
};

std::string join_path(const std::string& prefix, std::string_view field) {
  return prefix.empty() ? std::string(field) : fmt::format("{}.{}", prefix, field);
}

}  // namespace

std::string Config::path_of(std::string_view field) const { return join_path(prefix_, field); }

Config Config::parse(std::string_view text, std::string source) {
  auto root = std::make_shared<nlohmann::json>();
  try {
    *root = nlohmann::json::parse(text.begin(), text.end(), nullptr, true, false);
  } catch (const nlohmann::json::exception& e) {
    throw Error("config '{}' is not valid JSON: {}", source, e.what());
  }
  if (!root->is_object()) throw Error("config '{}' is {}, expected a JSON object", source, kind_of(*root));
  const nlohmann::json* node = root.get();
  return Config(std::move(root), node, std::move(source), "");
}

Config Config::load(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) throw Error("config '{}': cannot read: {}", file.string(), ec.message());
  if (size > kMaxConfigBytes) {
    throw Error("config '{}' is {} bytes; a config.json is at most {} (is this the right file?)", file.string(), size,
                kMaxConfigBytes);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("config '{}': cannot open: {}", file.string(), errno_text(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file.string());
}

bool Config::has(std::string_view field) const {
  const auto it = node_->find(field);
  return it != node_->end() && !it->is_null();
}

template <typename T>
T Config::get(std::string_view field) const {
  const Field f{source_, join_path(prefix_, field)};
  const auto it = node_->find(field);
  if (it == node_->end()) f.fail("is missing (expected {})", Reader<T>::kExpected);
  return Reader<T>::read(*it, f);
}

template <typename T>
T Config::get_or(std::string_view field, T fallback) const {
  const auto it = node_->find(field);
  if (it == node_->end() || it->is_null()) return fallback;
  return Reader<T>::read(*it, Field{source_, join_path(prefix_, field)});
}

Config Config::child(std::string_view field) const {
  const Field f{source_, join_path(prefix_, field)};
  const auto it = node_->find(field);
  if (it == node_->end()) f.fail("is missing (expected an object)");
  if (!it->is_object()) f.wrong(*it, "an object");
  return Config(root_, &*it, source_, f.path);
}

const nlohmann::json& Config::json() const { return *node_; }

#define SC_CONFIG_TYPE(T)                            \
  template T Config::get<T>(std::string_view) const; \
  template T Config::get_or<T>(std::string_view, T) const;
SC_CONFIG_TYPE(bool)
SC_CONFIG_TYPE(int)
SC_CONFIG_TYPE(std::int64_t)
SC_CONFIG_TYPE(float)
SC_CONFIG_TYPE(double)
SC_CONFIG_TYPE(std::string)
SC_CONFIG_TYPE(std::vector<int>)
SC_CONFIG_TYPE(std::vector<std::int64_t>)
SC_CONFIG_TYPE(std::vector<float>)
SC_CONFIG_TYPE(std::vector<std::string>)
#undef SC_CONFIG_TYPE

}  // namespace sc::engine
