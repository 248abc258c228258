#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "meshd/cluster/etcd_client.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/registry/catalog_backend.hpp"

namespace meshd::cluster {

struct EtcdCatalogOptions {
  std::string node;                            // this node's name
  std::string prefix = "/meshd/";              // every key lives under it
  std::chrono::milliseconds lease_ttl{10000};  // the node's lease
  /// Identifies this node's data dir: a record of our own name left by an
  /// earlier run from the same data dir (meshd killed, restarted within
  /// the lease) is taken over; any other holder of the name is refused.
  std::string incarnation;
  /// The address other nodes reach this node's instances at: a local
  /// instance on a loopback address is published with it instead.
  std::string advertise;
};

/// The cluster's catalog backend on etcd (docs/cluster.md):
///
///   <prefix>nodes/<node>               this node's record, under its lease
///   <prefix>instances/<node>/<id>      each local instance, under the lease
///   <prefix>registrations/<id>         {"node": owner, "registration": {...}}
///   <prefix>overrides/<id>@<node>      an instance's operator overrides
///   <prefix>singleton/<service>        the election of a singleton service
///
/// It grants the lease and keeps it alive, claims the node's name, writes
/// what changed (one put per change of an instance, coalesced), reads
/// everything once and then watches the prefix from the revision it read,
/// resuming from the last revision after a lost connection (a full read
/// when that revision was compacted). While etcd cannot be reached it
/// keeps the last known catalog and says it is stale.
class EtcdCatalog : public registry::CatalogBackend {
 public:
  /// `fatal` is called once when this node must not run (its name is held
  /// by another node): one line for the operator.
  static std::unique_ptr<EtcdCatalog> create(core::Scheduler& scheduler,
                                             const core::TimeSource& clock,
                                             std::unique_ptr<EtcdClient> client,
                                             EtcdCatalogOptions options,
                                             std::function<void(const std::string&)> fatal);

  /// Lease events for the singleton elections: `granted` with each new
  /// lease once this node's record is in etcd; `fenced` when the lease was
  /// not renewed for lease_ttl / 2 (it may be about to expire: stop what
  /// must not run twice); `renewed` when a keep-alive succeeded again
  /// with the same lease.
  struct LeaseHooks {
    std::function<void(std::int64_t lease)> granted;
    std::function<void()> fenced;
    std::function<void()> renewed;
  };
  virtual void set_lease_hooks(LeaseHooks hooks) = 0;
  /// True once this node's record was written (the first join finished).
  virtual bool joined() const = 0;
  virtual EtcdClient& client() = 0;
};

}  // namespace meshd::cluster
