#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// Typed reading of Node values. Every function names the field by its dotted
// path ("services.api.health.interval") and throws FieldError at the value's
// position when it does not have the expected type or range.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "field_error.hpp"
#include "meshd/config/types.hpp"
#include "node.hpp"
#include "suggest.hpp"

namespace meshd::config::detail {

/// `path.key`, or `key` at the top level.
std::string join_path(const std::string& path, std::string_view key);

/// The scalar text of `node`; throws "expected <expected>, got a list" etc.
const std::string& scalar_text(const Node& node, const std::string& path,
                               std::string_view expected);

std::string as_string(const Node& node, const std::string& path);
int as_int(const Node& node, const std::string& path, int min, int max);
bool as_bool(const Node& node, const std::string& path);
Duration as_duration(const Node& node, const std::string& path, Duration min = Duration{0});
std::uint64_t as_size(const Node& node, const std::string& path);
double as_percent(const Node& node, const std::string& path);
/// host:port; port 0 (any free port) only when `allow_port_zero`.
Endpoint as_endpoint(const Node& node, const std::string& path, bool allow_port_zero);
std::vector<std::string> as_string_list(const Node& node, const std::string& path);
/// A map of names to scalars; null values read as "".
std::map<std::string, std::string> as_string_map(const Node& node, const std::string& path);
/// An argv: a list of strings, or one string split like sh would split it.
std::vector<std::string> as_command(const Node& node, const std::string& path);

/// One of the names in `choices`, with a did-you-mean hint when it is not.
template <typename T>
T as_choice(const Node& node, const std::string& path,
            std::span<const std::pair<std::string_view, T>> choices) {
  std::vector<std::string_view> names;
  for (const auto& [name, value] : choices) names.push_back(name);
  const std::string expected = "one of " + join(names);
  const std::string& text = scalar_text(node, path, expected);
  for (const auto& [name, value] : choices)
    if (name == text) return value;
  fail(node.mark,
       path + ": expected " + expected + ", got '" + text + "'" + did_you_mean(text, names));
}

/// A map being read key by key. A null node reads as an empty map.
class MapView {
 public:
  /// Throws FieldError unless `node` is a map or null.
  MapView(const Node& node, std::string path);

  /// The value under `key`, or nullptr when it is absent or null.
  const Node* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  /// The map under `key`; an empty one when the key is absent or null.
  MapView child(std::string_view key) const;
  /// The dotted path of `key` in this map, for messages.
  std::string path(std::string_view key) const { return join_path(path_, key); }
  const std::string& path() const { return path_; }
  const Node& node() const { return node_; }

 private:
  const Node& node_;
  std::string path_;
};

// Each reader below leaves `out` alone when the key is absent or null, so the
// built-in default in types.hpp stays.
void read(const MapView& map, std::string_view key, std::string& out);
void read(const MapView& map, std::string_view key, bool& out);
void read(const MapView& map, std::string_view key, int& out, int min, int max);
void read(const MapView& map, std::string_view key, Duration& out, Duration min = Duration{0});
void read(const MapView& map, std::string_view key, std::vector<std::string>& out);
void read(const MapView& map, std::string_view key, std::map<std::string, std::string>& out);
void read_size(const MapView& map, std::string_view key, std::uint64_t& out);
void read_percent(const MapView& map, std::string_view key, double& out);

template <typename T>
void read_choice(const MapView& map, std::string_view key, T& out,
                 std::span<const std::pair<std::string_view, T>> choices) {
  if (const Node* node = map.get(key)) out = as_choice(*node, map.path(key), choices);
}

}  // namespace meshd::config::detail
