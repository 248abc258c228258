#include "meshd/registry/registry.hpp"

namespace meshd::registry {

const char* to_string(Origin origin) {
  switch (origin) {
    case Origin::managed:
      return "managed";
    case Origin::external:
      return "external";
    case Origin::registered:
      return "registered";
    case Origin::remote:
      return "remote";
  }
  return "managed";
}

namespace {

// What discovery shows: a change in any of these wakes watchers. Check
// output and pids are not in it: they change without changing the answer.
bool same_for_discovery(const InstanceRecord& a, const InstanceRecord& b) {
  return a.address == b.address && a.port == b.port && a.health == b.health && a.tags == b.tags &&
         a.metadata == b.metadata && a.weight == b.weight && a.healthy() == b.healthy() &&
         a.origin == b.origin && a.node == b.node;
}

}  // namespace

void Registry::set_services(const std::vector<std::string>& names) {
  std::set<std::string> wanted(names.begin(), names.end());
  for (auto it = indexes_.begin(); it != indexes_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    for (const auto& [id, record] : by_service_[it->first]) records_.erase(id);
    by_service_.erase(it->first);
    std::string gone = it->first;
    it = indexes_.erase(it);
    // Wake its watchers: their service is gone and they must be answered.
    auto w = watchers_.find(gone);
    if (w != watchers_.end()) {
      auto fire = std::move(w->second);
      watchers_.erase(w);
      for (auto& [wid, fn] : fire) {
        watch_service_.erase(wid);
        fn();
      }
    }
  }
  for (const auto& n : names)
    if (!indexes_.count(n)) indexes_[n] = next_index_++;
}

std::vector<std::string> Registry::services() const {
  std::vector<std::string> out;
  for (const auto& [name, idx] : indexes_) out.push_back(name);
  return out;
}

bool Registry::upsert(InstanceRecord record) {
  if (!indexes_.count(record.service)) return false;
  if (record.node.empty() && record.origin != Origin::remote) record.node = node_name_;
  auto it = records_.find(record.id);
  if (it != records_.end()) {
    bool changed = !same_for_discovery(it->second, record);
    if (it->second.service != record.service) {
      by_service_[it->second.service].erase(record.id);
      bump(it->second.service);
      changed = true;
    }
    std::string service = record.service;
    record.revision = changed ? next_revision_++ : it->second.revision;
    it->second = std::move(record);
    by_service_[service][it->first] = &it->second;
    if (changed) bump(service);
    return changed;
  }
  std::string service = record.service;
  std::string id = record.id;
  record.revision = next_revision_++;
  auto [inserted, _] = records_.emplace(id, std::move(record));
  by_service_[service][id] = &inserted->second;
  bump(service);
  return true;
}

bool Registry::remove(const std::string& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return false;
  std::string service = it->second.service;
  records_.erase(it);
  by_service_[service].erase(id);
  bump(service);
  return true;
}

void Registry::retain(const std::string& service, Origin origin,
                      const std::set<std::string>& keep) {
  std::vector<std::string> drop;
  for (const auto& [id, r] : by_service_[service])
    if (r->origin == origin && !keep.count(id)) drop.push_back(id);
  for (const auto& id : drop) remove(id);
}

const InstanceRecord* Registry::find(const std::string& id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

std::vector<const InstanceRecord*> Registry::instances(const std::string& service) const {
  std::vector<const InstanceRecord*> out;
  auto it = by_service_.find(service);
  if (it == by_service_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [id, r] : it->second) out.push_back(r);
  return out;
}

void Registry::set_overrides(const std::string& id, Overrides overrides) {
  auto before = this->overrides(id);
  if (overrides.any())
    overrides_[id] = overrides;
  else
    overrides_.erase(id);
  bool changed = before.drain != overrides.drain || before.maintenance != overrides.maintenance;
  auto it = records_.find(id);
  if (it == records_.end() || !changed) return;
  it->second.revision = next_revision_++;
  bump(it->second.service);
}

Overrides Registry::overrides(const std::string& id) const {
  auto it = overrides_.find(id);
  return it == overrides_.end() ? Overrides{} : it->second;
}

std::uint64_t Registry::index(const std::string& service) const {
  auto it = indexes_.find(service);
  return it == indexes_.end() ? 0 : it->second;
}

Registry::WatchId Registry::watch(const std::string& service, std::uint64_t after,
                                  Watcher watcher) {
  if (index(service) > after || !indexes_.count(service)) {
    watcher();
    return 0;
  }
  WatchId id = next_watch_++;
  watchers_[service].emplace(id, std::move(watcher));
  watch_service_.emplace(id, service);
  return id;
}

void Registry::cancel(WatchId id) {
  auto it = watch_service_.find(id);
  if (it == watch_service_.end()) return;
  auto w = watchers_.find(it->second);
  if (w != watchers_.end()) {
    w->second.erase(id);
    if (w->second.empty()) watchers_.erase(w);
  }
  watch_service_.erase(it);
}

void Registry::bump(const std::string& service) {
  auto it = indexes_.find(service);
  if (it == indexes_.end()) return;
  it->second = next_index_++;
  if (hold_ > 0) {
    held_.insert(service);
    return;
  }
  notify(service);
}

void Registry::release_notifications() {
  if (hold_ == 0 || --hold_ > 0) return;
  auto changed = std::move(held_);
  held_.clear();
  for (const auto& service : changed)
    if (indexes_.count(service)) notify(service);
}

void Registry::notify(const std::string& service) {
  auto w = watchers_.find(service);
  if (w != watchers_.end()) {
    auto fire = std::move(w->second);
    watchers_.erase(w);
    for (auto& [id, fn] : fire) {
      watch_service_.erase(id);
      fn();
    }
  }
  if (on_change) on_change(service);
  for (auto& listener : listeners_) listener(service);
}

}  // namespace meshd::registry
