#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakes/fake_scheduler.hpp"
#include "meshd/cluster/etcd_client.hpp"

namespace meshd::testing {

/// An in-memory etcd for the cluster's unit tests: keys with revisions,
/// leases that expire on the fake clock, prefix watches, compaction,
/// elections, and a switch that makes it unreachable. Several FakeEtcdClients
/// (one per simulated node) share one FakeEtcd. Answers arrive on the fake
/// scheduler, as the real client's arrive later on the loop.
class FakeEtcd {
 public:
  explicit FakeEtcd(FakeScheduler& scheduler) : scheduler_(scheduler) {}

  struct Watcher {
    std::string prefix;
    std::function<void(std::vector<cluster::WatchEvent>, std::int64_t)> on_events;
    std::function<void(cluster::EtcdClient::WatchEnd)> on_end;
    bool live = true;
  };
  struct Lease {
    std::int64_t ttl = 0;
    core::TimePoint expires{};
  };

  FakeScheduler& scheduler() { return scheduler_; }
  bool up = true;
  std::int64_t revision = 1;
  std::int64_t compacted = 0;
  std::map<std::string, cluster::KeyValue> kv;
  std::map<std::int64_t, Lease> leases;
  std::vector<std::shared_ptr<Watcher>> watchers;
  std::uint64_t puts = 0;  // puts and deletes that changed a key
  std::int64_t next_lease = 7001;

  /// Makes etcd unreachable (true) or reachable again; going down ends
  /// every watch with an error.
  void set_down(bool down) {
    up = !down;
    if (!down) return;
    for (auto& w : watchers)
      if (w->live) {
        w->live = false;
        auto end = w->on_end;
        scheduler_.post([end] {
          end({core::make_error(core::ErrorCode::unavailable, "etcd down"), 0});
        });
      }
    watchers.clear();
  }

  /// Reachable again. As with a real cluster that lost its quorum, lease
  /// time did not run meanwhile: a new leader gives every lease its full TTL.
  void restore() {
    up = true;
    for (auto& [id, lease] : leases)
      lease.expires = scheduler_.clock().now() + std::chrono::seconds(lease.ttl);
  }

  void expire_leases() {
    if (!up) return;
    auto now = scheduler_.clock().now();
    for (auto it = leases.begin(); it != leases.end();) {
      if (it->second.expires <= now) {
        drop_lease_keys(it->first);
        it = leases.erase(it);
      } else {
        ++it;
      }
    }
  }
  void drop_lease_keys(std::int64_t lease) {
    std::vector<std::string> gone;
    for (const auto& [k, v] : kv)
      if (v.lease == lease) gone.push_back(k);
    for (const auto& k : gone) del(k);
  }

  std::int64_t put(const std::string& key, const std::string& value, std::int64_t lease) {
    ++revision;
    ++puts;
    auto& e = kv[key];
    if (e.create_revision == 0) {
      e.create_revision = revision;
      e.version = 0;
    }
    e.key = key;
    e.value = value;
    e.mod_revision = revision;
    ++e.version;
    e.lease = lease;
    notify({cluster::WatchEvent::Type::put, e});
    return revision;
  }
  std::int64_t del(const std::string& key) {
    auto it = kv.find(key);
    if (it == kv.end()) return revision;
    ++revision;
    ++puts;
    cluster::KeyValue gone;
    gone.key = key;
    gone.mod_revision = revision;
    kv.erase(it);
    notify({cluster::WatchEvent::Type::del, gone});
    return revision;
  }
  void notify(const cluster::WatchEvent& e) {
    history.push_back(e);
    for (auto& w : watchers)
      if (w->live && e.kv.key.compare(0, w->prefix.size(), w->prefix) == 0) {
        auto fn = w->on_events;
        auto rev = revision;
        auto weak = std::weak_ptr<Watcher>(w);
        scheduler_.post([fn, e, rev, weak] {
          if (auto alive = weak.lock(); alive && alive->live) fn({e}, rev);
        });
      }
  }
  /// Forgets history up to the current revision (etcdctl compact).
  void compact() { compacted = revision, history.clear(); }

  std::vector<cluster::WatchEvent> history;

 private:
  FakeScheduler& scheduler_;
};

/// One node's client of a FakeEtcd.
class FakeEtcdClient final : public cluster::EtcdClient {
 public:
  explicit FakeEtcdClient(FakeEtcd& etcd) : etcd_(etcd) {}
  ~FakeEtcdClient() override { *alive_ = false; }

  void get_prefix(const std::string& prefix, Callback<Range> done) override {
    answer(done, [this, prefix]() -> core::Result<Range> {
      Range r;
      r.revision = etcd_.revision;
      for (const auto& [k, v] : etcd_.kv)
        if (k.compare(0, prefix.size(), prefix) == 0) r.kvs.push_back(v);
      return r;
    });
  }
  void get(const std::string& key, Callback<Range> done) override {
    answer(done, [this, key]() -> core::Result<Range> {
      Range r;
      r.revision = etcd_.revision;
      if (auto it = etcd_.kv.find(key); it != etcd_.kv.end()) r.kvs.push_back(it->second);
      return r;
    });
  }
  void put(const std::string& key, const std::string& value, std::int64_t lease,
           Callback<std::int64_t> done) override {
    answer(done, [this, key, value, lease]() -> core::Result<std::int64_t> {
      if (lease != 0 && !etcd_.leases.count(lease))
        return core::make_error(core::ErrorCode::upstream_failure, "requested lease not found");
      return etcd_.put(key, value, lease);
    });
  }
  void remove(const std::string& key, Callback<std::int64_t> done) override {
    answer(done, [this, key]() -> core::Result<std::int64_t> { return etcd_.del(key); });
  }
  void put_if(const std::string& key, const std::string& value, std::int64_t lease,
              std::int64_t expected, Callback<TxnResult> done) override {
    answer(done, [this, key, value, lease, expected]() -> core::Result<TxnResult> {
      TxnResult t;
      auto it = etcd_.kv.find(key);
      std::int64_t mod = it == etcd_.kv.end() ? 0 : it->second.mod_revision;
      if (mod != expected) {
        t.revision = etcd_.revision;
        if (it != etcd_.kv.end()) t.current = it->second;
        return t;
      }
      t.succeeded = true;
      t.revision = etcd_.put(key, value, lease);
      return t;
    });
  }
  void remove_if(const std::string& key, std::int64_t expected, Callback<TxnResult> done) override {
    answer(done, [this, key, expected]() -> core::Result<TxnResult> {
      TxnResult t;
      auto it = etcd_.kv.find(key);
      if (it == etcd_.kv.end() || it->second.mod_revision != expected) {
        if (it != etcd_.kv.end()) t.current = it->second;
        t.revision = etcd_.revision;
        return t;
      }
      t.succeeded = true;
      t.revision = etcd_.del(key);
      return t;
    });
  }
  void lease_grant(std::int64_t ttl, Callback<std::int64_t> done) override {
    answer(done, [this, ttl]() -> core::Result<std::int64_t> {
      std::int64_t id = etcd_.next_lease++;
      etcd_.leases[id] = {ttl, etcd_.scheduler().clock().now() + std::chrono::seconds(ttl)};
      schedule_expiry(ttl);
      return id;
    });
  }
  void lease_keepalive(std::int64_t lease, Callback<std::int64_t> done) override {
    answer(done, [this, lease]() -> core::Result<std::int64_t> {
      etcd_.expire_leases();
      auto it = etcd_.leases.find(lease);
      if (it == etcd_.leases.end()) return std::int64_t{0};
      it->second.expires = etcd_.scheduler().clock().now() + std::chrono::seconds(it->second.ttl);
      schedule_expiry(it->second.ttl);
      return it->second.ttl;
    });
  }
  void lease_revoke(std::int64_t lease, Done done) override {
    answer(done, [this, lease]() -> core::Status {
      etcd_.drop_lease_keys(lease);
      etcd_.leases.erase(lease);
      return core::ok_status();
    });
  }

  struct Stream final : cluster::EtcdStream {
    std::shared_ptr<FakeEtcd::Watcher> watcher;
    std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
    void cancel() override {
      *cancelled = true;
      if (watcher) watcher->live = false;
    }
    ~Stream() override { cancel(); }
  };

  std::unique_ptr<cluster::EtcdStream> watch_prefix(
      const std::string& prefix, std::int64_t start,
      std::function<void(std::vector<cluster::WatchEvent>, std::int64_t)> on_events,
      std::function<void(WatchEnd)> on_end) override {
    auto stream = std::make_unique<Stream>();
    auto w = std::make_shared<FakeEtcd::Watcher>();
    w->prefix = prefix;
    w->on_events = on_events;
    w->on_end = on_end;
    stream->watcher = w;
    auto alive = alive_;
    if (!etcd_.up) {
      w->live = false;
      etcd_.scheduler().post([alive, on_end] {
        if (*alive) on_end({core::make_error(core::ErrorCode::unavailable, "etcd down"), 0});
      });
      return stream;
    }
    if (start > 0 && start <= etcd_.compacted) {
      w->live = false;
      auto compacted = etcd_.compacted;
      etcd_.scheduler().post([alive, on_end, compacted] {
        if (*alive) on_end({core::make_error(core::ErrorCode::conflict, "compacted"), compacted});
      });
      return stream;
    }
    // Replay what happened since `start`, then follow.
    std::vector<cluster::WatchEvent> missed;
    for (const auto& e : etcd_.history)
      if (e.kv.mod_revision >= start && e.kv.key.compare(0, prefix.size(), prefix) == 0)
        missed.push_back(e);
    // etcd answers a new watch with a "created" response: an empty batch.
    {
      auto rev = etcd_.revision;
      std::weak_ptr<FakeEtcd::Watcher> weak = w;
      etcd_.scheduler().post([weak, on_events, missed, rev] {
        if (auto live = weak.lock(); live && live->live) on_events(missed, rev);
      });
    }
    etcd_.watchers.push_back(w);
    return stream;
  }

  std::unique_ptr<cluster::EtcdStream> campaign(const std::string& name, std::int64_t lease,
                                                const std::string& value,
                                                Callback<cluster::LeaderKey> done) override {
    auto stream = std::make_unique<Stream>();
    auto cancelled = stream->cancelled;
    auto alive = alive_;
    std::string key = name + "/" + std::to_string(lease);
    etcd_.scheduler().post([this, alive, cancelled, name, key, lease, value, done] {
      if (!*alive || *cancelled) return;
      if (!etcd_.up) return done(core::make_error(core::ErrorCode::unavailable, "etcd down"));
      if (!etcd_.leases.count(lease))
        return done(core::make_error(core::ErrorCode::upstream_failure, "lease not found"));
      if (!etcd_.kv.count(key)) etcd_.put(key, value, lease);
      poll_leader(alive, cancelled, name, key, lease, done);
    });
    return stream;
  }
  void leader(const std::string& name, Callback<std::optional<cluster::KeyValue>> done) override {
    answer(done, [this, name]() -> core::Result<std::optional<cluster::KeyValue>> {
      auto first = first_candidate(name);
      if (!first) return std::optional<cluster::KeyValue>();
      return std::optional<cluster::KeyValue>(*first);
    });
  }
  void resign(const cluster::LeaderKey& leader, Done done) override {
    answer(done, [this, leader]() -> core::Status {
      etcd_.del(leader.key);
      return core::ok_status();
    });
  }
  std::string current_endpoint() const override { return "http://fake-etcd"; }

 private:
  template <typename T, typename F>
  void answer(std::function<void(core::Result<T>)> done, F compute) {
    auto alive = alive_;
    etcd_.scheduler().post([this, alive, done, compute] {
      if (!*alive) return;
      if (!etcd_.up) return done(core::make_error(core::ErrorCode::unavailable, "etcd down"));
      done(compute());
    });
  }
  void schedule_expiry(std::int64_t ttl) {
    FakeEtcd* etcd = &etcd_;
    etcd_.scheduler().schedule(std::chrono::seconds(ttl), [etcd] { etcd->expire_leases(); });
  }
  std::optional<cluster::KeyValue> first_candidate(const std::string& name) {
    std::optional<cluster::KeyValue> first;
    for (const auto& [k, v] : etcd_.kv)
      if (k.compare(0, name.size() + 1, name + "/") == 0 &&
          (!first || v.create_revision < first->create_revision))
        first = v;
    return first;
  }
  void poll_leader(std::shared_ptr<bool> alive, std::shared_ptr<bool> cancelled, std::string name,
                   std::string key, std::int64_t lease, Callback<cluster::LeaderKey> done) {
    if (!*alive) return;
    if (*cancelled) {
      if (etcd_.up) etcd_.del(key);  // a cancelled campaign resigns, as etcd's does
      return;
    }
    if (!etcd_.kv.count(key))
      return done(core::make_error(core::ErrorCode::upstream_failure, "campaign key lost"));
    auto first = first_candidate(name);
    if (first && first->key == key)
      return done(cluster::LeaderKey{name, key, first->create_revision, lease});
    etcd_.scheduler().schedule(std::chrono::milliseconds(100), [=, this] {
      poll_leader(alive, cancelled, name, key, lease, done);
    });
  }

  FakeEtcd& etcd_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace meshd::testing
