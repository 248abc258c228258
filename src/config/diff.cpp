#include "meshd/config/diff.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "meshd/config/to_json.hpp"

namespace meshd::config {

const char* to_string(ServiceChange change) {
  switch (change) {
    case ServiceChange::unchanged:
      return "unchanged";
    case ServiceChange::added:
      return "added";
    case ServiceChange::removed:
      return "removed";
    case ServiceChange::replace:
      return "replace";
    case ServiceChange::scale:
      return "scale";
    case ServiceChange::in_place:
      return "in_place";
  }
  return "unchanged";
}

bool is_process_field(const std::string& key) {
  // What the running process (or the probe built for it) was made from.
  // Everything else (restart policy, shutdown, logs, dependencies, traffic,
  // tags, metadata, tests) is read when it is used, so it changes in place.
  // Placement decides whether this node runs the process at all.
  static const std::set<std::string> keys = {"command", "cwd",    "env",      "port",
                                             "address", "health", "placement"};
  return keys.count(key) > 0;
}

bool ConfigDiff::empty() const {
  if (!mesh_fields.empty() || defaults_changed) return false;
  for (const auto& s : services)
    if (s.change != ServiceChange::unchanged) return false;
  return true;
}

const ServiceDiff* ConfigDiff::find(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

std::vector<std::string> differing_keys(const nlohmann::json& a, const nlohmann::json& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  std::vector<std::string> out;
  for (const auto& k : keys) {
    auto ia = a.find(k);
    auto ib = b.find(k);
    if (ia == a.end() || ib == b.end() || *ia != *ib) out.push_back(k);
  }
  return out;
}

}  // namespace

std::vector<std::string> differing_fields(const ServiceSpec& a, const ServiceSpec& b) {
  Config ca, cb;
  ca.services = {a};
  cb.services = {b};
  cb.services.front().name = a.name;
  return differing_keys(to_json(ca, false)["services"][a.name],
                        to_json(cb, false)["services"][a.name]);
}

ConfigDiff diff_configs(const Config& running, const Config& next) {
  // Compare the effective values in one canonical spelling, secrets
  // included (a changed password must restart the process).
  auto a = to_json(running, false);
  auto b = to_json(next, false);
  ConfigDiff diff;
  for (const auto& s : running.services) {
    ServiceDiff d;
    d.name = s.name;
    if (!next.find(s.name)) {
      d.change = ServiceChange::removed;
    } else {
      d.fields = differing_keys(a["services"][s.name], b["services"][s.name]);
      bool process = false, replicas = false;
      for (const auto& f : d.fields) {
        if (f == "replicas")
          replicas = true;
        else if (is_process_field(f))
          process = true;
      }
      if (process)
        d.change = ServiceChange::replace;
      else if (replicas && d.fields.size() == 1)
        d.change = ServiceChange::scale;
      else if (!d.fields.empty())
        d.change = ServiceChange::in_place;
      // replicas and in-place keys together: add/remove replicas and
      // apply the rest in place, which is what `scale` does too.
      if (d.change == ServiceChange::in_place && replicas) d.change = ServiceChange::scale;
    }
    diff.services.push_back(std::move(d));
  }
  for (const auto& s : next.services)
    if (!running.find(s.name))
      diff.services.push_back(ServiceDiff{s.name, ServiceChange::added, {}});
  diff.mesh_fields = differing_keys(a["mesh"], b["mesh"]);
  diff.defaults_changed = a["defaults"] != b["defaults"];
  return diff;
}

}  // namespace meshd::config
