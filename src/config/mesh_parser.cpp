#include "parsers.hpp"

namespace meshd::config::detail {

namespace {

constexpr std::pair<std::string_view, std::string_view> log_levels[] = {
    {"trace", "trace"}, {"debug", "debug"},       {"info", "info"}, {"warn", "warn"},
    {"error", "error"}, {"critical", "critical"}, {"off", "off"}};

constexpr std::pair<std::string_view, std::string_view> log_formats[] = {{"text", "text"},
                                                                         {"json", "json"}};

constexpr std::pair<std::string_view, std::string_view> access_log_formats[] = {{"json", "json"}};

template <std::size_t N>
std::span<const std::pair<std::string_view, std::string_view>> names(
    const std::pair<std::string_view, std::string_view> (&table)[N]) {
  return table;
}

}  // namespace

ParsedMesh parse_mesh(const Node& node, const std::string& path, Completeness completeness) {
  ParsedMesh out;
  MeshSpec& spec = out.spec;
  MapView map(node, path);
  // Port 0 asks the kernel for a free port, which is how tests run meshd.
  if (const Node* listen = map.get("listen")) {
    spec.listen = as_endpoint(*listen, map.path("listen"), true);
    out.listen_mark = listen->mark;
  }
  // An empty or null gateway turns the data path off, like omitting it.
  if (const Node* gateway = map.get("gateway");
      gateway && !(gateway->is_scalar() && gateway->scalar.empty())) {
    spec.gateway = as_endpoint(*gateway, map.path("gateway"), true);
    out.gateway_mark = gateway->mark;
  }
  if (const Node* data_dir = map.get("data_dir")) {
    spec.data_dir = as_string(*data_dir, map.path("data_dir"));
    if (spec.data_dir.empty()) fail(data_dir->mark, map.path("data_dir") + ": must not be empty");
  }
  read(map, "api_token", spec.api_token);
  read(map, "auth_reads", spec.auth_reads);
  read(map, "cors_origins", spec.cors_origins);
  if (const Node* level = map.get("log_level"))
    spec.log_level = as_choice(*level, map.path("log_level"), names(log_levels));
  if (const Node* format = map.get("log_format"))
    spec.log_format = as_choice(*format, map.path("log_format"), names(log_formats));
  parse_cluster_identity(map, spec, completeness);
  if (const Node* log = map.get("access_log")) {
    MapView al(*log, map.path("access_log"));
    const Node* p = al.get("path");
    if (!p) fail(log->mark, map.path("access_log") + ": path is required (a file to write to)");
    spec.access_log.path = as_string(*p, al.path("path"));
    if (spec.access_log.path.empty()) fail(p->mark, al.path("path") + ": must not be empty");
    if (const Node* format = al.get("format"))
      spec.access_log.format = as_choice(*format, al.path("format"), names(access_log_formats));
    read_size(al, "max_size", spec.access_log.max_size);
    if (spec.access_log.max_size < 4096)
      fail(al.get("max_size")->mark, al.path("max_size") + ": must be at least 4KB");
    read(al, "keep", spec.access_log.keep, 0, 1000);
  }
  // 0, like leaving it out: one a core, at most 8.
  read(map, "gateway_threads", spec.gateway_threads, 0, 64);
  return out;
}

}  // namespace meshd::config::detail
