#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "meshd/registry/instance_record.hpp"

namespace meshd::registry {

/// The catalog of services and their instances, with Consul-style indexes.
///
/// Each service has its own index, raised whenever something discovery
/// shows about that service changes (an instance added or removed, its
/// health status, address, tags, weight, overrides); a blocking query
/// waits on its service's index only, so a busy service does not wake the
/// watchers of a quiet one. Pure logic: no I/O, no timers; callers on the
/// control loop drive it.
class Registry {
 public:
  using Watcher = std::function<void()>;
  using WatchId = std::uint64_t;

  /// This node's name, stamped on every local record whose `node` is empty.
  void set_node_name(std::string name) { node_name_ = std::move(name); }
  const std::string& node_name() const { return node_name_; }

  /// The services that exist (from the config, registrations and other
  /// nodes); instances of other services are refused.
  void set_services(const std::vector<std::string>& names);
  bool has_service(const std::string& name) const { return indexes_.count(name) > 0; }
  std::vector<std::string> services() const;

  /// Adds or updates an instance. Raises the service's index (and the
  /// record's revision) when anything discovery shows changed; returns
  /// whether it did.
  bool upsert(InstanceRecord record);
  /// Removes an instance; false when unknown.
  bool remove(const std::string& id);
  /// Removes every instance of `service` with `origin` whose id is not in `keep`.
  void retain(const std::string& service, Origin origin, const std::set<std::string>& keep);

  const InstanceRecord* find(const std::string& id) const;
  /// The instances of a service in id order.
  std::vector<const InstanceRecord*> instances(const std::string& service) const;
  std::size_t size() const { return records_.size(); }

  /// Overrides by instance id; they may name an instance that is not there
  /// yet (a managed instance before it starts), and apply when it appears.
  void set_overrides(const std::string& id, Overrides overrides);
  Overrides overrides(const std::string& id) const;
  const std::map<std::string, Overrides>& all_overrides() const { return overrides_; }

  /// The service's index (0 for an unknown service); starts at 1.
  std::uint64_t index(const std::string& service) const;

  /// Calls `watcher` once, as soon as index(service) > `after` (at once,
  /// inside this call, when it already is). Returns an id for cancel(), or
  /// 0 when it fired immediately.
  WatchId watch(const std::string& service, std::uint64_t after, Watcher watcher);
  void cancel(WatchId id);
  std::size_t watchers() const { return watch_service_.size(); }

  /// Holds back watchers and listeners while many changes arrive at once
  /// (a node's thousand instances leaving with its lease): indexes still
  /// rise at each change, but each touched service is announced once, at
  /// the matching release. Nestable.
  void hold_notifications() { ++hold_; }
  void release_notifications();

  /// Called after a service's index was raised (live views, balancers).
  std::function<void(const std::string& service)> on_change;
  /// More listeners for the same moments (the gateway's routes, ...).
  void add_listener(std::function<void(const std::string& service)> listener) {
    listeners_.push_back(std::move(listener));
  }

 private:
  void bump(const std::string& service);
  void notify(const std::string& service);

  std::string node_name_;
  int hold_ = 0;
  std::set<std::string> held_;  // services changed while held
  std::map<std::string, InstanceRecord> records_;
  // Each service's records by id; the pointers are into records_ (a node
  // container), so listing a service does not look each id up again.
  std::map<std::string, std::map<std::string, InstanceRecord*>> by_service_;
  std::map<std::string, std::uint64_t> indexes_;
  std::uint64_t next_index_ = 1;  // one counter, so indexes also order changes across services
  std::uint64_t next_revision_ = 1;
  std::map<std::string, Overrides> overrides_;
  std::map<std::string, std::map<WatchId, Watcher>> watchers_;
  std::map<WatchId, std::string> watch_service_;
  std::vector<std::function<void(const std::string&)>> listeners_;
  WatchId next_watch_ = 1;
};

}  // namespace meshd::registry
