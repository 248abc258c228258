#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <map>
#include <optional>
#include <set>

#include "catalog_records.hpp"
#include "meshd/cluster/etcd_catalog.hpp"

namespace meshd::cluster {

/// The etcd catalog's state machine. Two halves: the lease, the node's
/// name and the writes (etcd_catalog.cpp); reading and watching what the
/// cluster holds (etcd_catalog_watch.cpp).
class EtcdCatalogImpl final : public EtcdCatalog {
 public:
  EtcdCatalogImpl(core::Scheduler& scheduler, const core::TimeSource& clock,
                  std::unique_ptr<EtcdClient> client, EtcdCatalogOptions options,
                  std::function<void(const std::string&)> fatal);
  ~EtcdCatalogImpl() override;

  // CatalogBackend
  void set_self(registry::NodeRecord self) override;
  void start(Events events) override;
  void stop(std::function<void()> done) override;
  void publish(const registry::InstanceRecord& record) override;
  void withdraw(const std::string& id) override;
  void save_registration(const std::string& id, const nlohmann::json& registration) override;
  void delete_registration(const std::string& id) override;
  void save_overrides(const std::string& id, const std::string& overrides_json) override;
  void delete_overrides(const std::string& id) override;
  const std::string& node_name() const override { return options_.node; }
  std::vector<registry::NodeRecord> nodes() const override;
  bool stale() const override { return stale_; }
  bool clustered() const override { return true; }
  Stats stats() const override;

  // EtcdCatalog
  void set_lease_hooks(LeaseHooks hooks) override { lease_hooks_ = std::move(hooks); }
  bool joined() const override { return joined_; }
  EtcdClient& client() override { return *client_; }

 private:
  // --- lease, name, writes (etcd_catalog.cpp)
  void join();
  void claim_name();
  void take_over(const KeyValue& held);
  void join_failed(const core::Error& error);
  void joined_now();
  void keepalive();
  void arm_fence();
  void lease_lost();
  /// Wants `key` to hold `value` (nullopt: deleted); `leased` keys live
  /// and die with this node's lease.
  void want(const std::string& key, std::optional<std::string> value, bool leased);
  void schedule_flush();
  void flush();
  void note_etcd(bool up);

  // --- reading and watching (etcd_catalog_watch.cpp)
  void read_all();
  void apply_snapshot(const std::vector<KeyValue>& kvs);
  void watch_from_revision();
  void watch_ended(const EtcdClient::WatchEnd& end);
  void watch_alive(std::int64_t revision);
  /// Applies one key's put (`value` set) or delete.
  void apply(const std::string& key, const std::optional<std::string>& value);
  void bad_record(const std::string& key, const std::string& why);
  void set_stale(bool stale);
  void arm_stale();

  core::Scheduler& scheduler_;
  const core::TimeSource& clock_;
  EtcdCatalogOptions options_;
  std::function<void(const std::string&)> fatal_;
  Events events_;
  LeaseHooks lease_hooks_;
  registry::NodeRecord self_;
  std::int64_t ttl_seconds_ = 10;

  bool started_ = false;
  bool stopped_ = false;
  bool joining_ = false;
  bool joined_ = false;
  bool fenced_ = false;
  bool etcd_up_ = false;
  bool stale_ = false;
  bool watching_ = false;
  std::int64_t lease_ = 0;
  std::uint64_t generation_ = 0;  // raised with each lease: late answers of older ones are ignored
  core::TimePoint last_renewed_{};
  core::Duration backoff_{200};
  core::Duration watch_backoff_{200};

  // Writes: what each key should hold, what etcd holds as far as we know,
  // and the keys with a request in flight (one at a time per key).
  struct Want {
    std::optional<std::string> value;
    bool leased = false;
  };
  std::map<std::string, Want> local_;    // every leased key this node owns now
  std::map<std::string, Want> pending_;  // to write
  std::map<std::string, std::optional<std::string>> written_;
  std::set<std::string> in_flight_;
  bool flush_posted_ = false;

  // What the cluster holds, as last read.
  std::int64_t revision_ = 0;
  std::map<std::string, registry::NodeRecord> nodes_;  // other nodes
  std::set<std::string> leaving_;                      // nodes that said goodbye
  std::set<std::string> remote_;                       // registry ids "<id>@<node>"
  std::set<std::string> registrations_;
  std::set<std::string> overrides_;  // registry ids
  std::set<std::string> reported_bad_;
  std::map<std::int64_t, core::TimePoint>
      lag_probes_;  // revision of our write -> when it was acknowledged
  double watch_lag_seconds_ = 0;
  Stats stats_;

  core::Timer keepalive_timer_;
  core::Timer fence_timer_;
  core::Timer retry_timer_;
  core::Timer flush_timer_;
  core::Timer watch_timer_;
  core::Timer stale_timer_;
  core::Timer stop_timer_;
  std::function<void()> stop_done_;
  std::unique_ptr<EtcdStream> watch_;
  std::unique_ptr<EtcdClient> client_;  // last: destroyed first, so no answer outlives us
};

}  // namespace meshd::cluster
