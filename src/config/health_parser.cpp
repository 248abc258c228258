#include <charconv>
#include <optional>

#include "json_node.hpp"
#include "meshd/config/health_check.hpp"
#include "names.hpp"
#include "parsers.hpp"

namespace meshd::config::detail {

namespace {

std::optional<int> parse_status(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value < 100 || value > 599) return std::nullopt;
  return value;
}

StatusRange parse_status_range(const Node& node, const std::string& path) {
  static const std::string expected = "an HTTP status like 200 or a range like 200-399";
  const std::string& text = scalar_text(node, path, expected);
  auto dash = text.find('-');
  auto low = parse_status(std::string_view(text).substr(0, dash));
  auto high =
      dash == std::string::npos ? low : parse_status(std::string_view(text).substr(dash + 1));
  if (!low || !high || *high < *low)
    fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
  return StatusRange{*low, *high};
}

// The type a health block asks for through its type-specific fields, as
// Consul infers a check's kind from http:, args: or ttl:.
std::optional<CheckType> implied_type(const MapView& map) {
  std::optional<CheckType> implied;
  std::string first_key;
  auto imply = [&](std::string_view key, CheckType type) {
    if (!map.has(key)) return;
    if (implied && *implied != type)
      fail(map.node().mark, map.path() + ": cannot tell the check type from both '" + first_key +
                                "' and '" + std::string(key) + "'; set 'type'");
    if (!implied) first_key = key;
    implied = type;
  };
  imply("path", CheckType::http);
  imply("expect_status", CheckType::http);
  imply("body_contains", CheckType::http);
  imply("command", CheckType::exec);
  imply("ttl", CheckType::ttl);
  return implied;
}

}  // namespace

HealthSpec parse_health(const Node* node, const std::string& path, bool has_endpoint,
                        Completeness completeness) {
  HealthSpec out;
  if (!node) return out;  // no block: type none
  MapView map(*node, path);
  const bool full = completeness == Completeness::full;

  if (map.has("type")) {
    read_choice(map, "type", out.type, check_type_names());
  } else if (auto implied = implied_type(map)) {
    out.type = *implied;
  } else {
    out.type = CheckType::tcp;
    if (full && !has_endpoint)
      fail(node->mark, path +
                           ": set 'type' (http, tcp, exec, ttl, notify or none); the service "
                           "has no port or address for the default tcp check");
  }

  if (const Node* path_node = map.get("path")) {
    out.path = as_string(*path_node, map.path("path"));
    if (!out.path.starts_with('/'))
      fail(path_node->mark, map.path("path") + ": must start with '/', got '" + out.path + "'");
  }
  if (const Node* status = map.get("expect_status"))
    out.expect_status = parse_status_range(*status, map.path("expect_status"));
  read(map, "body_contains", out.body_contains);
  if (const Node* command = map.get("command"))
    out.command = as_command(*command, map.path("command"));
  read(map, "ttl", out.ttl, kMinCheckInterval);
  read(map, "interval", out.interval, kMinCheckInterval);
  read(map, "timeout", out.timeout, Duration{1});
  read(map, "jitter", out.jitter);
  read(map, "healthy_threshold", out.healthy_threshold, 1, 1000);
  read(map, "unhealthy_threshold", out.unhealthy_threshold, 1, 1000);
  read(map, "start_period", out.start_period);
  read(map, "unhealthy_interval", out.unhealthy_interval);

  if (!full) return out;
  const std::string type_name = to_string(out.type);
  if (out.type == CheckType::exec && out.command.empty())
    fail(node->mark, path + ": an exec check needs 'command'");
  if (out.type == CheckType::ttl && !map.has("ttl"))
    fail(node->mark, path + ": a ttl check needs 'ttl', the longest time between passes");
  if ((out.type == CheckType::http || out.type == CheckType::tcp) && !has_endpoint) {
    const Node* type = map.get("type");
    fail(type ? type->mark : node->mark,
         path + ": a " + type_name + " check needs the service to have a 'port' or an 'address'");
  }
  return out;
}

}  // namespace meshd::config::detail

namespace meshd::config {

core::Result<HealthSpec> parse_health_json(const nlohmann::json& check, const std::string& path) {
  try {
    detail::Node node = detail::node_from_json(check);
    return detail::parse_health(&node, path, true, detail::Completeness::full);
  } catch (const detail::FieldError& e) {
    return core::make_error(core::ErrorCode::invalid_argument, e.what());
  }
}

}  // namespace meshd::config
