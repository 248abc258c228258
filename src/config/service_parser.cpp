#include <algorithm>

#include "names.hpp"
#include "parsers.hpp"

namespace meshd::config::detail {

namespace {

constexpr int max_replicas = 1000;

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

int parse_signal(const Node& node, const std::string& path) {
  const std::string& text = scalar_text(node, path, "a signal name like SIGTERM, or a number");
  if (all_digits(text)) return as_int(node, path, 1, 64);
  return as_choice(node, path, signal_names());
}

ShutdownSpec parse_shutdown(const MapView& service) {
  ShutdownSpec out;
  MapView map = service.child("shutdown");
  if (const Node* signal = map.get("signal"))
    out.signal = parse_signal(*signal, map.path("signal"));
  read(map, "timeout", out.timeout);
  return out;
}

RestartSpec parse_restart(const MapView& service) {
  RestartSpec out;
  MapView map = service.child("restart");
  read_choice(map, "policy", out.policy, restart_policy_names());
  if (const Node* backoff_node = map.get("backoff")) {
    MapView backoff(*backoff_node, map.path("backoff"));
    read(backoff, "initial", out.backoff.initial, Duration{1});
    read(backoff, "max", out.backoff.max, Duration{1});
    if (!backoff.has("max")) out.backoff.max = std::max(out.backoff.max, out.backoff.initial);
    if (const Node* max = backoff.get("max"); max && out.backoff.max < out.backoff.initial)
      fail(max->mark, backoff.path("max") + ": must not be shorter than backoff.initial");
  }
  read(map, "max_restarts", out.max_restarts, 0, 1'000'000);
  read(map, "window", out.window, Duration{1});
  read(map, "reset_after", out.reset_after);
  return out;
}

LogsSpec parse_logs(const MapView& service) {
  LogsSpec out;
  MapView map = service.child("logs");
  if (const Node* max_size = map.get("max_size")) {
    out.max_size = as_size(*max_size, map.path("max_size"));
    if (out.max_size == 0) fail(max_size->mark, map.path("max_size") + ": must be more than 0B");
  }
  read(map, "keep", out.keep, 0, 1000);
  return out;
}

void parse_dependencies(const MapView& service, ParsedService& out) {
  const Node* node = service.get("depends_on");
  if (!node) return;
  const std::string path = service.path("depends_on");
  if (!node->is_list())
    fail(node->mark, path +
                         ": expected a list of service names or {service, condition, "
                         "required} maps, got " +
                         describe(node->kind));
  for (std::size_t i = 0; i < node->items.size(); ++i) {
    const Node& item = node->items[i];
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    Dependency dep;
    if (item.is_map()) {
      MapView map(item, item_path);
      if (!map.has("service")) fail(item.mark, item_path + ": 'service' is missing");
      read(map, "service", dep.service);
      read_choice(map, "condition", dep.condition, dependency_condition_names());
      read(map, "required", dep.required);
    } else {
      dep.service = scalar_text(item, item_path, "a service name or a {service, condition} map");
    }
    out.spec.depends_on.push_back(std::move(dep));
    out.dependency_marks.push_back(item.mark);
  }
}

void parse_addresses(const MapView& service, ParsedService& out) {
  const Node* node = service.get("address");
  if (!node) return;
  const std::string path = service.path("address");
  out.address_mark = node->mark;
  if (node->is_list()) {
    // An empty list declares an external service whose instances all come
    // from POST /api/v1/registry at run time.
    for (std::size_t i = 0; i < node->items.size(); ++i) {
      out.spec.addresses.push_back(
          as_endpoint(node->items[i], path + "[" + std::to_string(i) + "]", false));
      out.address_marks.push_back(node->items[i].mark);
    }
  } else {
    out.spec.addresses.push_back(as_endpoint(*node, path, false));
    out.address_marks.push_back(node->mark);
  }
}

void parse_process(const MapView& map, ParsedService& out) {
  ServiceSpec& spec = out.spec;
  if (const Node* command = map.get("command"))
    spec.command = as_command(*command, map.path("command"));
  read(map, "cwd", spec.cwd);
  if (const Node* env = map.get("env")) {
    spec.env = as_string_map(*env, map.path("env"));
    for (const auto& entry : env->entries)
      if (entry.key.empty() || entry.key.find('=') != std::string::npos)
        fail(entry.key_mark,
             map.path("env") + ": '" + entry.key + "' is not a valid environment variable name");
  }
  read(map, "replicas", spec.replicas, 1, max_replicas);
  if (const Node* port = map.get("port")) {
    spec.port = static_cast<std::uint16_t>(as_int(*port, map.path("port"), 1, 65535));
    out.port_mark = port->mark;
    if (*spec.port + spec.replicas - 1 > 65535)
      fail(port->mark, map.path("port") + ": " + std::to_string(spec.replicas) +
                           " replicas from port " + std::to_string(*spec.port) +
                           " run past port 65535");
  }
  spec.shutdown = parse_shutdown(map);
  spec.restart = parse_restart(map);
  spec.logs = parse_logs(map);
}

// The checks that only make sense on a whole service, after merging.
void check_complete(const MapView& map, const std::string& name, ParsedService& out) {
  const ServiceSpec& spec = out.spec;
  const bool has_command = !spec.command.empty();
  const bool has_address = out.address_mark.has_value();
  if (!has_command && !has_address)
    fail(out.spec.mark, "service '" + name +
                            "' needs 'command' (a process meshd runs) or 'address' (an "
                            "external instance)");
  if (has_command && has_address)
    fail(*out.address_mark, "service '" + name +
                                "' has both 'command' and 'address'; a service is either "
                                "run by meshd or external");
  if (has_address && spec.port)
    fail(out.port_mark, map.path("port") +
                            ": an external service has no 'port' of its own; put the port in "
                            "'address'");
  check_placement(out);
}

}  // namespace

ParsedService parse_service(const Node& node, const std::string& name, SourceMark mark,
                            const std::string& path, Completeness completeness) {
  ParsedService out;
  out.spec.name = name;
  out.spec.mark = mark;
  MapView map(node, path);
  parse_process(map, out);
  parse_dependencies(map, out);
  parse_addresses(map, out);
  const bool has_endpoint = out.spec.port.has_value() || out.address_mark.has_value();
  out.spec.health = parse_health(map.get("health"), map.path("health"), has_endpoint, completeness);
  parse_traffic(map, out.spec);
  out.spec.rollout = parse_rollout(map);
  parse_placement(map, out);
  read(map, "tags", out.spec.tags);
  read(map, "metadata", out.spec.metadata);
  if (const Node* tests = map.get("tests")) out.spec.tests = parse_tests(*tests, map.path("tests"));
  if (completeness == Completeness::full) check_complete(map, name, out);
  return out;
}

}  // namespace meshd::config::detail
