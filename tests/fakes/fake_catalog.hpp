#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "meshd/registry/catalog_backend.hpp"

namespace meshd::testing {

/// registry::CatalogBackend in memory, for the routes and the stream: a
/// cluster of two nodes by default ("gpu-box", this one, and "cpu-box"),
/// whose nodes, staleness and counters a test sets directly. Writes are
/// recorded, not shared with anyone.
class FakeCatalog final : public registry::CatalogBackend {
 public:
  FakeCatalog() {
    registry::NodeRecord self;
    self.name = "gpu-box";
    self.address = "10.0.0.5";
    self.api_address = "10.0.0.5:9700";
    self.version = "1.2.3";
    self.started_ms = 1'700'000'000'000;
    self.last_seen_ms = 1'700'000'100'000;
    self.self = true;
    registry::NodeRecord other;
    other.name = "cpu-box";
    other.address = "10.0.0.6";
    other.api_address = "10.0.0.6:9700";
    other.version = "1.2.3";
    other.started_ms = 1'700'000'050'000;
    other.last_seen_ms = 1'700'000'090'000;
    node_list = {self, other};
  }

  void set_self(registry::NodeRecord self) override { node_list.at(0) = std::move(self); }
  void start(Events e) override { events = std::move(e); }
  void stop(std::function<void()> done) override {
    if (done) done();
  }
  void publish(const registry::InstanceRecord& record) override { published[record.id] = record; }
  void withdraw(const std::string& id) override { published.erase(id); }
  void save_registration(const std::string& id, const nlohmann::json& registration) override {
    registrations[id] = registration;
  }
  void delete_registration(const std::string& id) override { registrations.erase(id); }
  void save_overrides(const std::string& id, const std::string& overrides_json) override {
    overrides[id] = overrides_json;
  }
  void delete_overrides(const std::string& id) override { overrides.erase(id); }
  const std::string& node_name() const override { return node_list.at(0).name; }
  std::vector<registry::NodeRecord> nodes() const override { return node_list; }
  bool stale() const override { return is_stale; }
  bool clustered() const override { return is_clustered; }
  Stats stats() const override { return counters; }

  std::vector<registry::NodeRecord> node_list;  // this node first
  bool is_stale = false;
  bool is_clustered = true;
  Stats counters;
  Events events;
  std::map<std::string, registry::InstanceRecord> published;
  std::map<std::string, nlohmann::json> registrations;
  std::map<std::string, std::string> overrides;
};

}  // namespace meshd::testing
