#include <spdlog/spdlog.h>

#include <algorithm>

#include "etcd_catalog_impl.hpp"

// The lease, the node's name and the writes. Everything runs on the
// control loop; the client answers there too.

namespace meshd::cluster {

using namespace std::chrono_literals;

std::unique_ptr<EtcdCatalog> EtcdCatalog::create(core::Scheduler& scheduler,
                                                 const core::TimeSource& clock,
                                                 std::unique_ptr<EtcdClient> client,
                                                 EtcdCatalogOptions options,
                                                 std::function<void(const std::string&)> fatal) {
  return std::make_unique<EtcdCatalogImpl>(scheduler, clock, std::move(client), std::move(options),
                                           std::move(fatal));
}

EtcdCatalogImpl::EtcdCatalogImpl(core::Scheduler& scheduler, const core::TimeSource& clock,
                                 std::unique_ptr<EtcdClient> client, EtcdCatalogOptions options,
                                 std::function<void(const std::string&)> fatal)
    : scheduler_(scheduler),
      clock_(clock),
      options_(std::move(options)),
      fatal_(std::move(fatal)),
      keepalive_timer_(scheduler),
      fence_timer_(scheduler),
      retry_timer_(scheduler),
      flush_timer_(scheduler),
      watch_timer_(scheduler),
      stale_timer_(scheduler),
      stop_timer_(scheduler),
      client_(std::move(client)) {
  // etcd's leases are whole seconds; round up so the lease never is
  // shorter than the file says.
  auto ms = options_.lease_ttl.count();
  ttl_seconds_ = std::max<std::int64_t>(2, (ms + 999) / 1000);
  self_.name = options_.node;
}

EtcdCatalogImpl::~EtcdCatalogImpl() {
  watch_.reset();
  client_.reset();
}

void EtcdCatalogImpl::set_self(registry::NodeRecord self) {
  self_ = std::move(self);
  self_.name = options_.node;
  self_.self = true;
}

void EtcdCatalogImpl::start(Events events) {
  events_ = std::move(events);
  started_ = true;
  join();
}

// Graceful leave: the node's record says "leaving" (so the others report
// node.left, not node.lost), then the lease is revoked, which deletes
// every key this node published at once.
void EtcdCatalogImpl::stop(std::function<void()> done) {
  if (stopped_) {
    if (done) done();
    return;
  }
  stopped_ = true;
  keepalive_timer_.cancel();
  fence_timer_.cancel();
  retry_timer_.cancel();
  flush_timer_.cancel();
  watch_timer_.cancel();
  stale_timer_.cancel();
  watch_.reset();
  stop_done_ = std::move(done);
  auto finish = [this] {
    stop_timer_.cancel();
    if (auto d = std::move(stop_done_)) {
      stop_done_ = nullptr;
      d();
    }
  };
  if (!joined_ || lease_ == 0) return finish();
  stop_timer_.arm(1500ms, finish);
  NodeValue v{self_, options_.incarnation, true};
  std::int64_t lease = lease_;
  client_->put(node_key(options_.prefix, options_.node), encode_node(v), lease,
               [this, lease, finish](core::Result<std::int64_t>) {
                 client_->lease_revoke(lease, [finish](core::Status) { finish(); });
               });
}

void EtcdCatalogImpl::join() {
  if (joining_ || stopped_) return;
  joining_ = true;
  client_->lease_grant(ttl_seconds_, [this](core::Result<std::int64_t> lease) {
    if (stopped_) return;
    if (!lease) return join_failed(lease.error());
    lease_ = *lease;
    ++generation_;
    claim_name();
  });
}

// The name is ours when nobody holds it, or when the holder is an
// earlier run of this same node (same data dir) that died within its
// lease; any other holder is another meshd, and this one must not run.
void EtcdCatalogImpl::claim_name() {
  NodeValue v{self_, options_.incarnation, false};
  client_->put_if(
      node_key(options_.prefix, options_.node), encode_node(v), lease_, 0,
      [this](core::Result<EtcdClient::TxnResult> r) {
        if (stopped_) return;
        if (!r) return join_failed(r.error());
        if (r->succeeded) return joined_now();
        if (!r->current) return claim_name();  // deleted meanwhile
        auto held = decode_node(options_.node, r->current->value);
        if (held && !options_.incarnation.empty() && held->incarnation == options_.incarnation)
          return take_over(*r->current);
        joining_ = false;
        std::string where = held ? held->record.address + " (API " + held->record.api_address + ")"
                                 : "an unknown address";
        client_->lease_revoke(lease_, [](core::Status) {});
        lease_ = 0;
        if (fatal_)
          fatal_("node name '" + options_.node + "' is already held by another meshd at " + where +
                 ": give this node another name (mesh.node or --node)");
      });
}

void EtcdCatalogImpl::take_over(const KeyValue& held) {
  NodeValue v{self_, options_.incarnation, false};
  std::int64_t old_lease = held.lease;
  client_->put_if(node_key(options_.prefix, options_.node), encode_node(v), lease_,
                  held.mod_revision, [this, old_lease](core::Result<EtcdClient::TxnResult> r) {
                    if (stopped_) return;
                    if (!r) return join_failed(r.error());
                    if (!r->succeeded) return claim_name();
                    spdlog::info("cluster: took back node name '{}' from this node's earlier run",
                                 options_.node);
                    // The earlier run's instances go with its lease; ours
                    // are written again under the new one.
                    if (old_lease != 0 && old_lease != lease_)
                      client_->lease_revoke(old_lease, [](core::Status) {});
                    joined_now();
                  });
}

void EtcdCatalogImpl::join_failed(const core::Error& error) {
  joining_ = false;
  note_etcd(false);
  spdlog::warn("cluster: cannot join through etcd ({}): retrying in {} ms", error.message,
               backoff_.count());
  arm_stale();
  retry_timer_.arm(backoff_, [this] { join(); });
  backoff_ = std::min<core::Duration>(backoff_ * 2, 5000ms);
}

void EtcdCatalogImpl::joined_now() {
  joining_ = false;
  joined_ = true;
  fenced_ = false;
  backoff_ = 200ms;
  note_etcd(true);
  last_renewed_ = clock_.now();
  arm_fence();
  keepalive_timer_.arm(std::chrono::milliseconds(ttl_seconds_ * 1000 / 3), [this] { keepalive(); });
  spdlog::info("cluster: joined as node '{}' (lease {} s) through {}", options_.node, ttl_seconds_,
               client_->current_endpoint());
  // A new lease holds none of our keys: every leased key is written again.
  in_flight_.clear();
  for (auto it = written_.begin(); it != written_.end();)
    it = local_.count(it->first) ? written_.erase(it) : std::next(it);
  for (const auto& [key, w] : local_) pending_[key] = w;
  schedule_flush();
  if (lease_hooks_.granted) lease_hooks_.granted(lease_);
  if (events_.nodes_changed) events_.nodes_changed();
  read_all();
}

void EtcdCatalogImpl::keepalive() {
  if (stopped_ || !joined_) return;
  std::int64_t lease = lease_;
  client_->lease_keepalive(lease, [this, lease](core::Result<std::int64_t> ttl) {
    if (stopped_ || lease != lease_) return;
    if (!ttl) {
      note_etcd(false);
      keepalive_timer_.arm(500ms, [this] { keepalive(); });
      return;
    }
    if (*ttl <= 0) return lease_lost();
    note_etcd(true);
    last_renewed_ = clock_.now();
    arm_fence();
    if (fenced_) {
      fenced_ = false;
      spdlog::info("cluster: lease renewed again");
      if (lease_hooks_.renewed) lease_hooks_.renewed();
    }
    keepalive_timer_.arm(std::chrono::milliseconds(ttl_seconds_ * 1000 / 3),
                         [this] { keepalive(); });
  });
}

// Patroni's rule: a node that could not renew for half the lease stops
// what must run once (singletons) before the lease can expire and
// another node can win.
void EtcdCatalogImpl::arm_fence() {
  fence_timer_.arm(std::chrono::milliseconds(ttl_seconds_ * 1000 / 2), [this] {
    if (fenced_ || stopped_) return;
    fenced_ = true;
    spdlog::warn("cluster: lease not renewed for {} ms: fencing (singletons stop)",
                 ttl_seconds_ * 1000 / 2);
    if (lease_hooks_.fenced) lease_hooks_.fenced();
  });
}

void EtcdCatalogImpl::lease_lost() {
  spdlog::warn("cluster: the lease expired (etcd unreachable too long): joining again");
  if (!fenced_) {
    fenced_ = true;
    if (lease_hooks_.fenced) lease_hooks_.fenced();
  }
  joined_ = false;
  lease_ = 0;
  ++generation_;
  keepalive_timer_.cancel();
  fence_timer_.cancel();
  join();
}

void EtcdCatalogImpl::publish(const registry::InstanceRecord& record) {
  if (record.origin == registry::Origin::remote) return;
  want(instance_key(options_.prefix, options_.node, record.id),
       encode_instance(record, self_.address), true);
}

void EtcdCatalogImpl::withdraw(const std::string& id) {
  want(instance_key(options_.prefix, options_.node, id), std::nullopt, true);
}

void EtcdCatalogImpl::save_registration(const std::string& id, const nlohmann::json& registration) {
  nlohmann::json doc = {{"node", options_.node}, {"registration", registration}};
  want(registration_key(options_.prefix, id), doc.dump(), false);
}

void EtcdCatalogImpl::delete_registration(const std::string& id) {
  want(registration_key(options_.prefix, id), std::nullopt, false);
}

void EtcdCatalogImpl::save_overrides(const std::string& id, const std::string& overrides_json) {
  want(overrides_key(options_.prefix, qualify(id, options_.node)), overrides_json, false);
}

void EtcdCatalogImpl::delete_overrides(const std::string& id) {
  want(overrides_key(options_.prefix, qualify(id, options_.node)), std::nullopt, false);
}

void EtcdCatalogImpl::want(const std::string& key, std::optional<std::string> value, bool leased) {
  if (leased) {
    if (value)
      local_[key] = Want{value, true};
    else
      local_.erase(key);
  }
  // Only this node writes its leased keys, so what it wrote last is what
  // etcd holds. Shared keys (registrations, overrides) may have been
  // written by any node since: those are always sent.
  auto w = written_.find(key);
  bool same = leased && (w != written_.end() ? w->second == value : !value.has_value());
  if (same && !in_flight_.count(key)) {
    pending_.erase(key);
    return;
  }
  pending_[key] = Want{std::move(value), leased};
  schedule_flush();
}

void EtcdCatalogImpl::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  scheduler_.post([this] {
    flush_posted_ = false;
    flush();
  });
}

// One request per key at a time; a key changed again while its write is
// in flight is written once more afterwards, with its latest value, so
// changes coalesce.
void EtcdCatalogImpl::flush() {
  if (!joined_ || stopped_) return;
  std::vector<std::pair<std::string, Want>> batch;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (in_flight_.count(it->first)) {
      ++it;
      continue;
    }
    auto w = written_.find(it->first);
    bool same = it->second.leased &&
                (w != written_.end() ? w->second == it->second.value : !it->second.value);
    if (!same) batch.emplace_back(it->first, it->second);
    it = pending_.erase(it);
  }
  for (auto& [key, w] : batch) {
    in_flight_.insert(key);
    std::uint64_t gen = generation_;
    auto done = [this, key, w, gen](core::Status status, std::int64_t revision) {
      if (gen != generation_ || stopped_) return;
      in_flight_.erase(key);
      if (status) {
        ++stats_.writes;
        written_[key] = w.value;
        note_etcd(true);
        if (revision > 0) {
          lag_probes_[revision] = clock_.now();
          while (lag_probes_.size() > 64) lag_probes_.erase(lag_probes_.begin());
        }
      } else {
        note_etcd(false);
        if (!pending_.count(key)) pending_[key] = w;  // try again unless a newer value waits
        flush_timer_.arm(500ms, [this] { flush(); });
        return;
      }
      if (pending_.count(key)) schedule_flush();
    };
    std::int64_t lease = w.leased ? lease_ : 0;
    if (w.value)
      client_->put(key, *w.value, lease, [done](core::Result<std::int64_t> r) {
        done(r ? core::ok_status() : core::Status(r.error()), r ? *r : 0);
      });
    else
      client_->remove(key, [done](core::Result<std::int64_t> r) {
        done(r ? core::ok_status() : core::Status(r.error()), r ? *r : 0);
      });
  }
}

void EtcdCatalogImpl::note_etcd(bool up) {
  etcd_up_ = up;
}

std::vector<registry::NodeRecord> EtcdCatalogImpl::nodes() const {
  std::vector<registry::NodeRecord> out;
  registry::NodeRecord self = self_;
  self.self = true;
  self.state = joined_ ? "alive" : "joining";
  self.last_seen_ms = core::to_unix_ms(clock_.wall_now());
  out.push_back(self);
  for (const auto& [name, node] : nodes_)
    if (name != options_.node) out.push_back(node);
  return out;
}

registry::CatalogBackend::Stats EtcdCatalogImpl::stats() const {
  Stats s = stats_;
  s.etcd_up = etcd_up_;
  s.watch_lag_seconds = watch_lag_seconds_;
  return s;
}

}  // namespace meshd::cluster
