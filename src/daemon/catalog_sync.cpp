#include "catalog_sync.hpp"

#include "meshd/registry/overrides_codec.hpp"

namespace meshd::daemon {

CatalogSync::CatalogSync(registry::CatalogBackend& backend, registry::Registry& registry,
                         registry::Registrations& registrations, core::EventBus& events)
    : backend_(backend), registry_(registry), registrations_(registrations), events_(events) {}

CatalogSync::~CatalogSync() = default;

void CatalogSync::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  registry_.set_node_name(backend_.node_name());
  registrations_.on_services_changed = [this] { refresh_services(); };
  registry_.add_listener([this](const std::string& service) { publish_local(service); });

  registry::CatalogBackend::Events e;
  e.registration_put = [this](const std::string& id, const nlohmann::json& doc,
                              const std::string& owner) { registrations_.stored(id, doc, owner); };
  e.registration_deleted = [this](const std::string& id) { registrations_.unstored(id); };
  e.overrides_put = [this](const std::string& id, const std::string& text) {
    if (auto overrides = registry::decode_overrides(text)) registry_.set_overrides(id, *overrides);
  };
  e.overrides_deleted = [this](const std::string& id) {
    registry_.set_overrides(id, registry::Overrides{});
  };
  e.remote_put = [this](registry::InstanceRecord record) {
    const auto* local = registry_.find(record.id);
    if (local && local->local()) return;  // ids of remote records carry "@node": cannot clash
    std::string service = record.service;
    if (!remote_.count(record.id)) ++remote_per_service_[service];
    remote_[record.id] = record;
    if (!services_.count(service)) refresh_services();
    if (registry_.upsert(std::move(record))) remote_changed();
  };
  e.remote_deleted = [this](const std::string& id) {
    auto it = remote_.find(id);
    if (it == remote_.end()) return;
    std::string service = it->second.service;
    remote_.erase(it);
    registry_.remove(id);
    // The set of services changes only with a service's last remote instance.
    if (--remote_per_service_[service] == 0) {
      remote_per_service_.erase(service);
      if (batch_depth_ > 0)
        batch_services_dirty_ = true;
      else
        refresh_services();
    }
    remote_changed();
  };
  e.nodes_changed = [this] { note_nodes(); };
  e.batch = [this](bool begin) {
    if (begin) {
      registry_.hold_notifications();
      batch_depth_++;
      return;
    }
    if (--batch_depth_ == 0 && batch_services_dirty_) {
      batch_services_dirty_ = false;
      refresh_services();
    }
    registry_.release_notifications();
    if (batch_remote_changed_ && batch_depth_ == 0) {
      batch_remote_changed_ = false;
      if (hooks_.remote_changed) hooks_.remote_changed();
    }
  };
  e.stale_changed = [this](bool stale) {
    events_.publish(stale ? "cluster.stale" : "cluster.connected", "", "",
                    stale ? "the cluster's catalog cannot be reached: serving the last known "
                            "catalog (marked stale) and retrying"
                          : "the cluster's catalog is reachable again");
    if (hooks_.stale_changed) hooks_.stale_changed(stale);
  };
  backend_.start(std::move(e));
  // What the registry held before: published once now, then on change.
  for (const auto& service : registry_.services()) publish_local(service);
  note_nodes();
}

void CatalogSync::set_declared(std::vector<std::string> names) {
  declared_ = std::move(names);
  refresh_services();
  for (const auto& [id, record] : remote_)
    if (!registry_.find(id)) registry_.upsert(record);
}

std::vector<std::string> CatalogSync::services() const {
  return {services_.begin(), services_.end()};
}

void CatalogSync::refresh_services() {
  std::set<std::string> now(declared_.begin(), declared_.end());
  for (const auto& s : registrations_.services()) now.insert(s);
  for (const auto& [service, count] : remote_per_service_) now.insert(service);
  bool changed = now != services_;
  services_ = std::move(now);
  // The registry keeps the file's order for nothing: names suffice.
  registry_.set_services(services());
  if (changed && hooks_.services_changed) hooks_.services_changed();
}

std::shared_ptr<const config::Config> CatalogSync::routing_config(
    const std::shared_ptr<const config::Config>& config) const {
  std::vector<std::string> extra;
  for (const auto& name : services_)
    if (!config->find(name)) extra.push_back(name);
  if (extra.empty()) return config;
  auto copy = std::make_shared<config::Config>(*config);
  for (const auto& name : extra) {
    config::ServiceSpec spec = config->defaults;
    spec.name = name;
    spec.command.clear();
    spec.addresses.clear();
    spec.depends_on.clear();
    spec.tests.clear();
    copy->services.push_back(std::move(spec));
  }
  return copy;
}

void CatalogSync::remote_changed() {
  if (batch_depth_ > 0) {
    batch_remote_changed_ = true;
    return;
  }
  if (hooks_.remote_changed) hooks_.remote_changed();
}

// Local instances go out as the registry shows them (health, tags,
// weight...); the backend writes only what changed.
void CatalogSync::publish_local(const std::string& service) {
  if (!backend_.clustered()) return;
  // Only records whose revision moved are handed on: a service with a
  // thousand instances costs a thousand comparisons per change, not a
  // thousand encodings.
  std::map<std::string, std::uint64_t> now;
  auto& before = published_[service];
  for (const auto* r : registry_.instances(service)) {
    if (!r->local()) continue;
    now.emplace(r->id, r->revision);
    auto it = before.find(r->id);
    if (it == before.end() || it->second != r->revision) backend_.publish(*r);
  }
  for (const auto& [id, revision] : before)
    if (!now.count(id)) backend_.withdraw(id);
  before = std::move(now);
  if (before.empty()) published_.erase(service);
}

void CatalogSync::note_nodes() {
  std::map<std::string, std::string> now;
  for (const auto& n : backend_.nodes()) {
    now[n.name] = n.state;
    auto it = node_states_.find(n.name);
    std::string was = it == node_states_.end() ? "" : it->second;
    if (was == n.state || n.self) continue;
    if (n.state == "alive")
      events_.publish("node.joined", "", "", "node " + n.name + " joined (" + n.address + ")",
                      {{"node", n.name}, {"address", n.address}});
    else if (n.state == "lost")
      events_.publish("node.lost", "", "",
                      "node " + n.name + " was lost: its lease expired without a goodbye",
                      {{"node", n.name}, {"address", n.address}});
    else if (n.state == "left")
      events_.publish("node.left", "", "", "node " + n.name + " left the cluster",
                      {{"node", n.name}});
  }
  node_states_ = std::move(now);
  if (hooks_.nodes_changed) hooks_.nodes_changed();
}

}  // namespace meshd::daemon
