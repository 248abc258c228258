#include "fields.hpp"

#include <charconv>

#include "meshd/config/values.hpp"
#include "shell_split.hpp"

namespace meshd::config::detail {

namespace {

std::string got(const Node& node) {
  if (node.is_scalar()) return "'" + node.scalar + "'";
  return describe(node.kind);
}

bool is_bare_number(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const std::string& scalar_text(const Node& node, const std::string& path,
                               std::string_view expected) {
  if (!node.is_scalar())
    fail(node.mark, path + ": expected " + std::string(expected) + ", got " + got(node));
  return node.scalar;
}

std::string as_string(const Node& node, const std::string& path) {
  return scalar_text(node, path, "a string");
}

int as_int(const Node& node, const std::string& path, int min, int max) {
  const std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const std::string& text = scalar_text(node, path, expected);
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max)
    fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
  return static_cast<int>(value);
}

bool as_bool(const Node& node, const std::string& path) {
  const std::string& text = scalar_text(node, path, "true or false");
  // YAML 1.1 spellings too, as yaml-cpp and most operators' habits accept them.
  for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
    if (text == yes) return true;
  for (const char* no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
    if (text == no) return false;
  fail(node.mark, path + ": expected true or false, got '" + text + "'");
}

Duration as_duration(const Node& node, const std::string& path, Duration min) {
  static const std::string expected = "a duration like 250ms, 2s or 5m";
  const std::string& text = scalar_text(node, path, expected);
  auto value = parse_duration(text);
  if (!value) {
    std::string hint = is_bare_number(text) ? " (a bare number has no unit)" : "";
    fail(node.mark, path + ": expected " + expected + ", got '" + text + "'" + hint);
  }
  if (*value < min)
    fail(node.mark, path + ": must be at least " + format_duration(min) + ", got '" + text + "'");
  return *value;
}

std::uint64_t as_size(const Node& node, const std::string& path) {
  static const std::string expected = "a size like 512KB, 10MB or 1GB";
  const std::string& text = scalar_text(node, path, expected);
  auto value = parse_size(text);
  if (!value) fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
  return *value;
}

double as_percent(const Node& node, const std::string& path) {
  static const std::string expected = "a percentage from 0% to 100%, like 50%";
  const std::string& text = scalar_text(node, path, expected);
  auto value = parse_percent(text);
  if (!value) fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
  return *value;
}

Endpoint as_endpoint(const Node& node, const std::string& path, bool allow_port_zero) {
  static const std::string expected = "host:port, like 127.0.0.1:8080";
  const std::string& text = scalar_text(node, path, expected);
  auto value = parse_endpoint(text);
  if (!value) fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
  if (value->port == 0 && !allow_port_zero)
    fail(node.mark, path + ": port must be from 1 to 65535, got '" + text + "'");
  return *value;
}

std::vector<std::string> as_string_list(const Node& node, const std::string& path) {
  if (!node.is_list()) fail(node.mark, path + ": expected a list of strings, got " + got(node));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.items.size(); ++i)
    out.push_back(as_string(node.items[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

std::map<std::string, std::string> as_string_map(const Node& node, const std::string& path) {
  if (!node.is_map())
    fail(node.mark, path + ": expected a map of names to values, got " + got(node));
  std::map<std::string, std::string> out;
  for (const auto& entry : node.entries)
    out[entry.key] =
        entry.value.is_null() ? "" : as_string(entry.value, join_path(path, entry.key));
  return out;
}

std::vector<std::string> as_command(const Node& node, const std::string& path) {
  std::vector<std::string> argv;
  if (node.is_list()) {
    argv = as_string_list(node, path);
  } else {
    const std::string& text = scalar_text(node, path, "a command (a list, or a string)");
    auto split = shell_split(text);
    if (split.error) fail(node.mark, path + ": " + *split.error);
    argv = std::move(split.words);
  }
  if (argv.empty()) fail(node.mark, path + ": the command is empty");
  if (argv.front().empty()) fail(node.mark, path + ": the program name is empty");
  return argv;
}

MapView::MapView(const Node& node, std::string path) : node_(node), path_(std::move(path)) {
  if (!node.is_map() && !node.is_null())
    fail(node.mark, path_ + ": expected a map, got " + got(node));
}

const Node* MapView::get(std::string_view key) const {
  const Node* value = node_.find(key);
  return value && !value->is_null() ? value : nullptr;
}

MapView MapView::child(std::string_view key) const {
  static const Node empty;
  const Node* value = get(key);
  return MapView(value ? *value : empty, path(key));
}

void read(const MapView& map, std::string_view key, std::string& out) {
  if (const Node* node = map.get(key)) out = as_string(*node, map.path(key));
}

void read(const MapView& map, std::string_view key, bool& out) {
  if (const Node* node = map.get(key)) out = as_bool(*node, map.path(key));
}

void read(const MapView& map, std::string_view key, int& out, int min, int max) {
  if (const Node* node = map.get(key)) out = as_int(*node, map.path(key), min, max);
}

void read(const MapView& map, std::string_view key, Duration& out, Duration min) {
  if (const Node* node = map.get(key)) out = as_duration(*node, map.path(key), min);
}

void read(const MapView& map, std::string_view key, std::vector<std::string>& out) {
  if (const Node* node = map.get(key)) out = as_string_list(*node, map.path(key));
}

void read(const MapView& map, std::string_view key, std::map<std::string, std::string>& out) {
  if (const Node* node = map.get(key)) out = as_string_map(*node, map.path(key));
}

void read_size(const MapView& map, std::string_view key, std::uint64_t& out) {
  if (const Node* node = map.get(key)) out = as_size(*node, map.path(key));
}

void read_percent(const MapView& map, std::string_view key, double& out) {
  if (const Node* node = map.get(key)) out = as_percent(*node, map.path(key));
}

}  // namespace meshd::config::detail
