#pragma once
// Short, bounded renderings of JSON values for error messages. Never recurses
// into containers: a hostile file can nest arrays 100 000 deep, and dumping
// one of those would overflow the stack while reporting the error.
#include <string>

#include <nlohmann/json.hpp>

namespace sc::engine::detail {

inline const char* json_kind(const nlohmann::json& v) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null:
      return "null";
    case T::boolean:
      return "a boolean";
    case T::number_integer:
    case T::number_unsigned:
      return "an integer";
    case T::number_float:
      return "a number";
    case T::string:
      return "a string";
    case T::array:
      return "an array";
    case T::object:
      return "an object";
    default:
      return "an unexpected value";
  }
}

inline std::string json_brief(const nlohmann::json& v) {
  constexpr std::size_t kMax = 60;
  auto clip = [](std::string s) { return s.size() > kMax ? s.substr(0, kMax - 3) + "..." : s; };
  auto scalar = [](const nlohmann::json& x) {
    return x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (v.is_object()) return v.empty() ? "{}" : "{...}";
  if (!v.is_array()) return clip(scalar(v));
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += v[i].is_structured() ? (v[i].is_array() ? "[...]" : "{...}") : scalar(v[i]);
    if (s.size() > kMax) break;
  }
  return clip(s + "]");
}

}  // namespace sc::engine::detail
