#include "meshd/registry/registration.hpp"

#include <set>

#include "meshd/config/health_check.hpp"
#include "meshd/config/service_name.hpp"
#include "meshd/config/values.hpp"

namespace meshd::registry {
namespace {

using core::ErrorCode;
using nlohmann::json;

core::Error bad(const std::string& message) {
  return core::make_error(ErrorCode::invalid_argument, message);
}

bool valid_name(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ':'))
      return false;
  return true;
}

bool valid_host(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':'))
      return false;
  return true;
}

std::optional<core::Error> unknown_keys(const json& obj, const std::set<std::string>& allowed,
                                        const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return bad("unknown field '" + it.key() + "' in " + where + " (allowed: " + list + ")");
    }
  return std::nullopt;
}

std::optional<core::Error> int_field(const json& obj, const char* key, int low, int high,
                                     int& out) {
  if (!obj.contains(key)) return std::nullopt;
  const auto& v = obj[key];
  if (!v.is_number_integer() || v.get<long long>() < low || v.get<long long>() > high)
    return bad(std::string("'") + key + "' must be a whole number from " + std::to_string(low) +
               " to " + std::to_string(high));
  out = v.get<int>();
  return std::nullopt;
}

// The API's policy on top of the one health-check parser: no exec checks
// (they would run commands on meshd's host for whoever can call the API),
// no notify checks (only a process meshd starts can notify), no check
// unless one is asked for (a file infers one, as Consul does), and a ttl
// check may leave out its ttl (30s, the HealthSpec default).
core::Result<config::HealthSpec> parse_check(const json& c) {
  if (!c.is_object()) return bad("check must be an object");
  if (auto e = unknown_keys(
          c,
          {"type", "path", "expect_status", "body_contains", "ttl", "interval", "timeout", "jitter",
           "healthy_threshold", "unhealthy_threshold", "start_period", "unhealthy_interval"},
          "check"))
    return *e;
  json check = c;
  if (!check.contains("type") || check["type"].is_null()) check["type"] = "none";
  if (check["type"] == "exec")
    return bad(
        "check.type exec is not allowed over the API (it would run commands on the meshd host)");
  if (check["type"] == "notify")
    return bad("check.type notify is only for processes that meshd starts");
  if (check["type"] == "ttl" && (!check.contains("ttl") || check["ttl"].is_null()))
    check["ttl"] = config::format_duration(config::HealthSpec{}.ttl);
  return config::parse_health_json(check, "check");
}

}  // namespace

core::Result<Registration> Registration::from_json(const json& body) {
  if (!body.is_object()) return bad("the body must be a JSON object");
  if (auto e = unknown_keys(
          body, {"service", "id", "address", "port", "tags", "metadata", "weight", "check"},
          "the registration"))
    return *e;
  Registration r;
  if (!body.contains("service") || !body["service"].is_string() ||
      body["service"].get<std::string>().empty())
    return bad("'service' is required and must be a non-empty string");
  r.service = body["service"];
  if (!config::valid_service_name(r.service))
    return bad(
        "'service' must be 1-63 lowercase letters, digits, '_' or '-', starting with a "
        "letter or digit (a registration may create a service, and its name appears in "
        "URLs), not '" +
        r.service + "'");
  if (!body.contains("address") || !body["address"].is_string())
    return bad(
        "'address' is required and must be a string (an IP address or host name, without a port)");
  r.address = body["address"];
  if (!valid_host(r.address) || r.address.find(':') != std::string::npos)
    return bad("'address' must be a host or IPv4 address without a port, not '" + r.address + "'");
  if (!body.contains("port") || !body["port"].is_number_integer() ||
      body["port"].get<long long>() < 1 || body["port"].get<long long>() > 65535)
    return bad("'port' is required and must be a whole number from 1 to 65535");
  r.port = static_cast<std::uint16_t>(body["port"].get<int>());
  if (body.contains("id")) {
    if (!body["id"].is_string() || !valid_name(body["id"], 128))
      return bad("'id' must be 1-128 characters of letters, digits, '-', '_', '.', ':'");
    r.id = body["id"];
  } else {
    r.id = r.service + "-" + r.address + "-" + std::to_string(r.port);
  }
  if (body.contains("tags")) {
    if (!body["tags"].is_array()) return bad("'tags' must be a list of strings");
    for (const auto& t : body["tags"]) {
      if (!t.is_string()) return bad("'tags' must be a list of strings");
      r.tags.push_back(t);
    }
  }
  if (body.contains("metadata")) {
    if (!body["metadata"].is_object()) return bad("'metadata' must be an object of strings");
    for (auto it = body["metadata"].begin(); it != body["metadata"].end(); ++it) {
      if (!it.value().is_string()) return bad("'metadata." + it.key() + "' must be a string");
      r.metadata[it.key()] = it.value();
    }
  }
  if (auto e = int_field(body, "weight", 1, 1000, r.weight)) return *e;
  if (body.contains("check")) {
    auto check = parse_check(body["check"]);
    if (!check) return check.error();
    r.check = *check;
  }
  return r;
}

json Registration::to_json() const {
  const auto& c = check;
  json check_json = {{"type", config::to_string(c.type)},
                     {"path", c.path},
                     {"expect_status", std::to_string(c.expect_status.low) + "-" +
                                           std::to_string(c.expect_status.high)},
                     {"ttl", config::format_duration(c.ttl)},
                     {"interval", config::format_duration(c.interval)},
                     {"timeout", config::format_duration(c.timeout)},
                     {"jitter", config::format_duration(c.jitter)},
                     {"start_period", config::format_duration(c.start_period)},
                     {"healthy_threshold", c.healthy_threshold},
                     {"unhealthy_threshold", c.unhealthy_threshold}};
  if (!c.body_contains.empty()) check_json["body_contains"] = c.body_contains;
  return {{"service", service}, {"id", id},           {"address", address},
          {"port", port},       {"tags", tags},       {"metadata", metadata},
          {"weight", weight},   {"check", check_json}};
}

}  // namespace meshd::registry
