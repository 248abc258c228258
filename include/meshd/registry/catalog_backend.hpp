#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "meshd/registry/instance_record.hpp"

namespace meshd::store {
class Database;
}

namespace meshd::registry {

/// A meshd node as the catalog knows it (GET /api/v1/nodes).
struct NodeRecord {
  std::string name;
  std::string address;      // mesh.advertise: where its instances are reached
  std::string api_address;  // host:port of its API
  std::string version;
  std::int64_t started_ms = 0;
  /// "alive" while its record is in the catalog; "lost" once it left
  /// without withdrawing (lease expired), "left" when it shut down.
  std::string state = "alive";
  std::int64_t last_seen_ms = 0;  // when its record was last written or confirmed
  bool self = false;
};

/// Where the catalog's shared state lives: this node's instances (under
/// its lease), the cluster-wide runtime registrations and operator
/// overrides (outliving any node), and what other nodes publish. Two
/// implementations: SQLite for a single node (nothing is shared; the
/// registrations and overrides survive restarts in meshd.db) and etcd for
/// a cluster (src/cluster/). Neither the registry nor the routes know
/// which one runs: they call these methods and hear back through Events.
///
/// Everything runs on the control loop: methods return at once (an
/// implementation that writes over the network queues and coalesces), and
/// Events are called from the loop.
class CatalogBackend {
 public:
  struct Events {
    /// A registration exists (at start, every stored one; later each one
    /// made on any node). `owner` is the node whose meshd checks it.
    std::function<void(const std::string& id, const nlohmann::json& registration,
                       const std::string& owner)>
        registration_put;
    std::function<void(const std::string& id)> registration_deleted;
    /// Operator overrides of an instance (any node's), as the codec's JSON.
    std::function<void(const std::string& id, const std::string& overrides_json)> overrides_put;
    std::function<void(const std::string& id)> overrides_deleted;
    /// Another node's instance appeared or changed (origin remote, node set).
    std::function<void(InstanceRecord record)> remote_put;
    std::function<void(const std::string& id)> remote_deleted;
    /// The nodes (this one included) changed: call nodes() for the list.
    std::function<void()> nodes_changed;
    /// The shared catalog became unreachable (true) or reachable again.
    std::function<void(bool stale)> stale_changed;
    /// Around many changes that arrive together (a watch batch, a full
    /// read): begin (true) and end (false), so that the consumer can
    /// announce each touched service once.
    std::function<void(bool begin)> batch;
  };

  virtual ~CatalogBackend() = default;

  /// What this node publishes about itself (its API address is known only
  /// once the API listens); before start().
  virtual void set_self(NodeRecord self) = 0;
  /// Starts: replays what is stored through `events` (SQLite: at once,
  /// inside this call; etcd: once the cluster answers), then follows.
  virtual void start(Events events) = 0;
  /// Stops following; withdraws this node (revokes its lease) and calls
  /// `done` (at once for SQLite), at most after a short timeout.
  virtual void stop(std::function<void()> done) = 0;

  /// This node's instance as it is now; written only when what others see
  /// of it changed (coalesced per instance).
  virtual void publish(const InstanceRecord& record) = 0;
  virtual void withdraw(const std::string& id) = 0;

  /// Cluster-wide state. `registration` is Registration::to_json().
  virtual void save_registration(const std::string& id, const nlohmann::json& registration) = 0;
  virtual void delete_registration(const std::string& id) = 0;
  virtual void save_overrides(const std::string& id, const std::string& overrides_json) = 0;
  virtual void delete_overrides(const std::string& id) = 0;

  /// This node's name (the host name or mesh.node).
  virtual const std::string& node_name() const = 0;
  /// Every node known, this one first.
  virtual std::vector<NodeRecord> nodes() const = 0;
  /// True while the shared catalog cannot be reached (never for SQLite).
  virtual bool stale() const = 0;
  /// True when this is a cluster (etcd) backend.
  virtual bool clustered() const = 0;

  /// For GET /metrics (all zero for SQLite).
  struct Stats {
    bool etcd_up = false;
    double watch_lag_seconds = 0;    // age of the newest watch response or progress note
    std::uint64_t writes = 0;        // puts and deletes sent to etcd
    std::uint64_t watch_events = 0;  // key events received
    std::uint64_t bad_records = 0;   // foreign or malformed keys skipped
    std::uint64_t resyncs = 0;       // full reloads after a compacted revision
  };
  virtual Stats stats() const = 0;
};

/// The single-node backend on meshd's SQLite database (kinds
/// "registration" and "override" of its key-value table), named `node`.
std::unique_ptr<CatalogBackend> make_sqlite_catalog(store::Database& database, std::string node);

}  // namespace meshd::registry
