#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "meshd/cluster/etcd_catalog.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/core/scheduler.hpp"

namespace meshd::cluster {

/// `placement: singleton` services: each runs on exactly one of the nodes
/// that declare it, the winner of an etcd election on
/// `<prefix>singleton/<service>` held under the node's lease (etcd's
/// concurrency.Election). When the leader's lease expires (it died or was
/// cut off), a waiting node wins and starts the service. Fencing: when
/// this node could not renew its lease for lease_ttl / 2 it stops its
/// singletons at once, before the lease can expire, so that two copies
/// never run; it campaigns again once the lease is renewed (and wins at
/// once while its old key is still there).
class Singletons {
 public:
  /// Starts (true) or stops (false) a service on this node.
  using Place = std::function<void(const std::string& service, bool run)>;

  Singletons(EtcdClient& client, core::Scheduler& scheduler, core::EventBus& events,
             std::string prefix, std::string node, Place place);
  ~Singletons();

  /// The singleton services this node may run (declared in its file, and
  /// allowed here by `placement.nodes`).
  void set_services(const std::set<std::string>& names);
  /// The catalog's lease hooks (EtcdCatalog::LeaseHooks).
  void granted(std::int64_t lease);
  void fenced();
  void renewed();

  /// True while this node runs `service` as the elected node.
  bool leads(const std::string& service) const;

 private:
  struct Entry {
    std::unique_ptr<EtcdStream> campaign;
    std::optional<LeaderKey> leader;
    bool running = false;
    std::unique_ptr<core::Timer> retry;
  };
  void campaign(const std::string& service);
  void stop_running(const std::string& service, Entry& entry, const std::string& why);

  EtcdClient& client_;
  core::Scheduler& scheduler_;
  core::EventBus& events_;
  std::string prefix_;
  std::string node_;
  Place place_;
  std::map<std::string, Entry> entries_;
  std::int64_t lease_ = 0;
  bool fenced_ = false;
};

}  // namespace meshd::cluster
