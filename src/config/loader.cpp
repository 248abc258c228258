#include "meshd/config/loader.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "expand.hpp"
#include "field_error.hpp"
#include "merge.hpp"
#include "parsers.hpp"
#include "schema.hpp"
#include "suggest.hpp"
#include "validate.hpp"
#include "yaml_reader.hpp"

namespace meshd::config {

namespace {

using detail::Completeness;
using detail::fail;
using detail::Node;

const Node& child_or_empty(const Node& map, std::string_view key) {
  static const Node empty;
  const Node* value = map.find(key);
  return value ? *value : empty;
}

// `services:` and `environments:` map user-chosen names to blocks.
const Node& named_blocks(const Node& root, std::string_view key, std::string_view what) {
  const Node& node = child_or_empty(root, key);
  if (!node.is_map() && !node.is_null())
    fail(node.mark, std::string(key) + ": expected a map from " + std::string(what) +
                        " names to their settings, got " + detail::describe(node.kind));
  return node;
}

// A service written with no body (`name:`) is an empty block, so that it
// still takes the defaults instead of replacing them with null.
Node as_block(const Node& node) {
  if (!node.is_null()) return node;
  Node empty = node;
  empty.kind = Node::Kind::map;
  return empty;
}

detail::VariableLookup make_lookup(const LoadOptions& options) {
  if (options.variables) {
    return [vars = *options.variables](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

void check_version(const Node& root) {
  const Node* version = root.find("version");
  if (!version || version->is_null()) return;  // optional; 1 is the only version
  if (!version->is_scalar() || version->scalar != "1")
    fail(version->mark, "version: meshd reads version 1 files, got " +
                            (version->is_scalar() ? "'" + version->scalar + "'"
                                                  : std::string(detail::describe(version->kind))));
}

// Every environment is checked, selected or not, so that `meshd validate`
// without --env still catches a typo in the production overlay.
void check_environments(const Node& environments, const Node& services) {
  std::vector<std::string> service_names;
  for (const auto& entry : services.entries) service_names.push_back(entry.key);
  for (const auto& env : environments.entries) {
    const std::string path = "environments." + env.key;
    detail::MapView overlay(env.value, path);
    if (const Node* mesh = overlay.get("mesh"))
      detail::parse_mesh(*mesh, overlay.path("mesh"), Completeness::fragment);
    if (const Node* defaults = overlay.get("defaults"))
      detail::parse_service(*defaults, "defaults", defaults->mark, overlay.path("defaults"),
                            Completeness::fragment);
    const Node* overlay_services = overlay.get("services");
    if (!overlay_services) continue;
    detail::MapView named(*overlay_services, overlay.path("services"));
    for (const auto& entry : overlay_services->entries) {
      if (!services.find(entry.key))
        fail(entry.key_mark, named.path() + ": unknown service '" + entry.key + "'" +
                                 detail::did_you_mean(entry.key, service_names));
      detail::parse_service(entry.value, entry.key, entry.key_mark, named.path(entry.key),
                            Completeness::fragment);
    }
  }
}

const Node& select_environment(const Node& environments, const std::string& name) {
  static const Node none;
  if (name.empty()) return none;
  std::vector<std::string> names;
  for (const auto& entry : environments.entries) names.push_back(entry.key);
  if (const Node* found = environments.find(name)) return *found;
  const std::string defined = names.empty() ? "the file defines no environments"
                                            : "the file defines: " + detail::join(names);
  fail({}, "unknown environment '" + name + "'; " + defined + detail::did_you_mean(name, names));
}

Config build(Node root, const LoadOptions& options) {
  if (root.is_null()) fail({}, "the file is empty; expected a map with at least 'services:'");
  if (!root.is_map())
    fail(root.mark,
         std::string("expected a map at the top level, got ") + detail::describe(root.kind));
  detail::check_keys(root, detail::file_schema(), "");
  detail::expand_tree(root, make_lookup(options));
  check_version(root);

  const Node& services = named_blocks(root, "services", "service");
  const Node& environments = named_blocks(root, "environments", "environment");
  const Node& defaults = child_or_empty(root, "defaults");
  detail::parse_service(defaults, "defaults", defaults.mark, "defaults", Completeness::fragment);
  check_environments(environments, services);

  const Node& overlay = select_environment(environments, options.environment);
  const Node& overlay_services = child_or_empty(overlay, "services");
  const Node merged_defaults =
      detail::merge(as_block(defaults), as_block(child_or_empty(overlay, "defaults")));

  Config config;
  config.environment = options.environment;
  const Node mesh_node = detail::merge(as_block(child_or_empty(root, "mesh")),
                                       as_block(child_or_empty(overlay, "mesh")));
  detail::ParsedMesh mesh = detail::parse_mesh(mesh_node, "mesh");
  config.mesh = mesh.spec;

  std::vector<detail::ParsedService> parsed;
  for (const auto& entry : services.entries) {
    Node node = detail::merge(merged_defaults, as_block(entry.value));
    node = detail::merge(node, as_block(child_or_empty(overlay_services, entry.key)));
    parsed.push_back(detail::parse_service(node, entry.key, entry.key_mark, "services." + entry.key,
                                           Completeness::full));
  }
  detail::validate(mesh, parsed);
  for (auto& service : parsed) config.services.push_back(std::move(service.spec));
  config.defaults =
      detail::parse_service(merged_defaults, "", defaults.mark, "defaults", Completeness::fragment)
          .spec;
  return config;
}

// TLS files are named relative to the file that names them, so that a
// config moves with its certificates; meshd may run from anywhere.
void resolve_tls_paths(ClusterTls& tls, const std::string& source_name) {
  const auto base = std::filesystem::path(source_name).parent_path();
  for (std::string* path : {&tls.ca, &tls.cert, &tls.key}) {
    if (path->empty()) continue;
    std::filesystem::path file(*path);
    if (file.is_relative()) file = base / file;
    std::error_code ec;
    auto absolute = std::filesystem::absolute(file, ec);
    *path = (ec ? file : absolute).lexically_normal().string();
  }
}

Config load(const std::string& yaml, const std::string& source_name, const LoadOptions& options) {
  try {
    Config config = build(detail::read_yaml(yaml), options);
    config.source_path = source_name;
    resolve_tls_paths(config.mesh.cluster.tls, source_name);
    return config;
  } catch (const detail::FieldError& e) {
    throw ConfigError(source_name, e.mark().line, e.mark().column, e.what());
  }
}

}  // namespace

Config load_string(const std::string& yaml, const std::string& source_name,
                   const LoadOptions& options) {
  return load(yaml, source_name, options);
}

namespace {

nlohmann::json node_to_json(const Node& node) {
  switch (node.kind) {
    case Node::Kind::null:
      return nullptr;
    case Node::Kind::list: {
      auto out = nlohmann::json::array();
      for (const auto& item : node.items) out.push_back(node_to_json(item));
      return out;
    }
    case Node::Kind::map: {
      auto out = nlohmann::json::object();
      for (const auto& entry : node.entries) out[entry.key] = node_to_json(entry.value);
      return out;
    }
    case Node::Kind::scalar:
      break;
  }
  const std::string& s = node.scalar;
  if (s == "true") return true;
  if (s == "false") return false;
  if (s == "null" || s == "~") return nullptr;
  // Integers only when they read back identically ("08" stays a string).
  if (!s.empty() && s.size() < 19 &&
      (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    std::size_t used = 0;
    try {
      long long v = std::stoll(s, &used);
      if (used == s.size() && std::to_string(v) == s) return v;
    } catch (const std::exception&) {
    }
  }
  return s;
}

}  // namespace

nlohmann::json yaml_to_json(const std::string& yaml, const std::string& source_name) {
  try {
    return node_to_json(detail::read_yaml(yaml));
  } catch (const detail::FieldError& e) {
    throw ConfigError(source_name, e.mark().line, e.mark().column, e.what());
  }
}

Config load_file(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path, 0, 0, "cannot read the file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(path, 0, 0, std::string("cannot read the file: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path, 0, 0, "cannot read the file");
  return load(text.str(), path, options);
}

}  // namespace meshd::config
