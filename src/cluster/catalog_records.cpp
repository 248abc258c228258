#include "catalog_records.hpp"

#include <nlohmann/json.hpp>

#include "meshd/core/listen.hpp"

namespace meshd::cluster {

using nlohmann::json;

namespace {

bool plain_segment(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (c == '/' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

health::HealthStatus health_from(const std::string& s, bool& ok) {
  ok = true;
  if (s == "passing") return health::HealthStatus::passing;
  if (s == "warning") return health::HealthStatus::warning;
  if (s == "critical") return health::HealthStatus::critical;
  if (s == "unknown") return health::HealthStatus::unknown;
  ok = false;
  return health::HealthStatus::unknown;
}

}  // namespace

CatalogKey parse_key(const std::string& prefix, const std::string& key) {
  CatalogKey out;
  if (key.compare(0, prefix.size(), prefix) != 0) return out;
  std::string rest = key.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos) return out;
  std::string kind = rest.substr(0, slash);
  std::string tail = rest.substr(slash + 1);
  if (kind == "singleton") {
    out.kind = CatalogKey::Kind::singleton;
    return out;
  }
  if (kind == "instances") {
    auto s2 = tail.find('/');
    if (s2 == std::string::npos) return out;
    std::string node = tail.substr(0, s2), id = tail.substr(s2 + 1);
    if (!plain_segment(node) || !plain_segment(id) || id.find('@') != std::string::npos) return out;
    out.kind = CatalogKey::Kind::instance;
    out.node = node;
    out.id = id;
    return out;
  }
  if (!plain_segment(tail)) return out;
  if (kind == "nodes") {
    out.kind = CatalogKey::Kind::node;
    out.node = tail;
  } else if (kind == "registrations") {
    out.kind = CatalogKey::Kind::registration;
    out.id = tail;
  } else if (kind == "overrides") {
    auto at = tail.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == tail.size()) return out;
    out.kind = CatalogKey::Kind::overrides;
    out.id = tail;
    out.node = tail.substr(at + 1);
  }
  return out;
}

std::string node_key(const std::string& prefix, const std::string& node) {
  return prefix + "nodes/" + node;
}
std::string instance_key(const std::string& prefix, const std::string& node,
                         const std::string& id) {
  return prefix + "instances/" + node + "/" + id;
}
std::string registration_key(const std::string& prefix, const std::string& id) {
  return prefix + "registrations/" + id;
}
std::string overrides_key(const std::string& prefix, const std::string& qualified_id) {
  return prefix + "overrides/" + qualified_id;
}
std::string singleton_name(const std::string& prefix, const std::string& service) {
  return prefix + "singleton/" + service;
}

std::string encode_node(const NodeValue& node) {
  const auto& r = node.record;
  json j = {
      {"name", r.name},       {"address", r.address},       {"api_address", r.api_address},
      {"version", r.version}, {"started_at", r.started_ms}, {"incarnation", node.incarnation}};
  if (node.leaving) j["leaving"] = true;
  return j.dump();
}

std::optional<NodeValue> decode_node(const std::string& name, const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || j["name"] != name)
    return std::nullopt;
  NodeValue v;
  v.record.name = name;
  try {
    v.record.address = j.value("address", std::string());
    v.record.api_address = j.value("api_address", std::string());
    v.record.version = j.value("version", std::string());
    v.record.started_ms = j.value("started_at", std::int64_t{0});
    v.incarnation = j.value("incarnation", std::string());
    v.leaving = j.value("leaving", false);
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return v;
}

std::string encode_instance(const registry::InstanceRecord& r, const std::string& advertise) {
  std::string address = r.address;
  if (!advertise.empty() && (address.empty() || core::is_loopback_host(address)))
    address = advertise;
  json j = {{"id", r.id},
            {"service", r.service},
            {"address", address},
            {"port", r.port},
            {"origin", registry::to_string(r.origin)},
            {"tags", r.tags},
            {"metadata", r.metadata},
            {"weight", r.weight},
            {"health", health::to_string(r.health)},
            {"check_type", r.check_type},
            {"process_state", r.process_state},
            {"joined_at", r.joined_ms}};
  return j.dump();
}

std::optional<registry::InstanceRecord> decode_instance(const std::string& node,
                                                        const std::string& id,
                                                        const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  registry::InstanceRecord r;
  try {
    if (j.at("id").get<std::string>() != id) return std::nullopt;
    r.id = id + "@" + node;
    r.service = j.at("service").get<std::string>();
    r.address = j.at("address").get<std::string>();
    int port = j.at("port").get<int>();
    if (r.service.empty() || r.address.empty() || port < 0 || port > 65535) return std::nullopt;
    r.port = static_cast<std::uint16_t>(port);
    r.origin = registry::Origin::remote;
    r.remote_origin = j.value("origin", std::string("managed"));
    r.node = node;
    r.tags = j.value("tags", std::vector<std::string>{});
    r.metadata = j.value("metadata", std::map<std::string, std::string>{});
    r.weight = j.value("weight", 1);
    bool ok = false;
    r.health = health_from(j.value("health", std::string("unknown")), ok);
    if (!ok) return std::nullopt;
    r.check_type = j.value("check_type", std::string());
    r.process_state = j.value("process_state", std::string());
    r.joined_ms = j.value("joined_at", std::int64_t{0});
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return r;
}

std::string qualify(const std::string& id, const std::string& self) {
  return id.find('@') == std::string::npos ? id + "@" + self : id;
}

std::string unqualify(const std::string& qualified, const std::string& self) {
  auto at = qualified.rfind('@');
  if (at != std::string::npos && qualified.compare(at + 1, std::string::npos, self) == 0)
    return qualified.substr(0, at);
  return qualified;
}

}  // namespace meshd::cluster
