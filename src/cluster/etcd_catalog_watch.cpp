#include <spdlog/spdlog.h>

#include <algorithm>

#include "etcd_catalog_impl.hpp"

// Reading and watching what the cluster holds: one full read, then a
// watch from the revision read; after a lost watch, the watch resumes
// from the last revision seen, and a compacted revision means a full read
// again, diffed against what is known so nothing is lost or doubled.

namespace meshd::cluster {

using namespace std::chrono_literals;

void EtcdCatalogImpl::read_all() {
  if (stopped_) return;
  watch_.reset();
  watching_ = false;
  std::uint64_t gen = generation_;
  client_->get_prefix(options_.prefix, [this, gen](core::Result<EtcdClient::Range> r) {
    if (stopped_ || gen != generation_) return;
    if (!r) {
      note_etcd(false);
      arm_stale();
      watch_timer_.arm(watch_backoff_, [this] { read_all(); });
      watch_backoff_ = std::min<core::Duration>(watch_backoff_ * 2, 5000ms);
      return;
    }
    note_etcd(true);
    if (events_.batch) events_.batch(true);
    apply_snapshot(r->kvs);
    if (events_.batch) events_.batch(false);
    revision_ = r->revision;
    watch_alive(r->revision);
    watch_from_revision();
  });
}

void EtcdCatalogImpl::apply_snapshot(const std::vector<KeyValue>& kvs) {
  std::set<std::string> keys;
  for (const auto& kv : kvs) keys.insert(kv.key);
  // What is gone first (a node's instances before the node), then what is.
  for (auto id : std::set<std::string>(remote_)) {
    auto at = id.rfind('@');
    if (!keys.count(instance_key(options_.prefix, id.substr(at + 1), id.substr(0, at))))
      apply(instance_key(options_.prefix, id.substr(at + 1), id.substr(0, at)), std::nullopt);
  }
  for (auto id : std::set<std::string>(registrations_))
    if (!keys.count(registration_key(options_.prefix, id)))
      apply(registration_key(options_.prefix, id), std::nullopt);
  for (auto id : std::set<std::string>(overrides_)) {
    auto key = overrides_key(options_.prefix, qualify(id, options_.node));
    if (!keys.count(key)) apply(key, std::nullopt);
  }
  for (const auto& [name, node] : std::map<std::string, registry::NodeRecord>(nodes_))
    if (node.state == "alive" && !keys.count(node_key(options_.prefix, name)))
      apply(node_key(options_.prefix, name), std::nullopt);
  for (const auto& kv : kvs) apply(kv.key, kv.value);
}

void EtcdCatalogImpl::watch_from_revision() {
  if (stopped_) return;
  std::uint64_t gen = generation_;
  watching_ = true;
  watch_ = client_->watch_prefix(
      options_.prefix, revision_ + 1,
      [this, gen](std::vector<WatchEvent> batch, std::int64_t revision) {
        if (stopped_ || gen != generation_) return;
        bool many = batch.size() > 1 && events_.batch;
        if (many) events_.batch(true);
        for (const auto& e : batch) {
          ++stats_.watch_events;
          if (e.type == WatchEvent::Type::put)
            apply(e.kv.key, e.kv.value);
          else
            apply(e.kv.key, std::nullopt);
          revision_ = std::max(revision_, e.kv.mod_revision);
        }
        if (many) events_.batch(false);
        watch_alive(revision);
      },
      [this, gen](EtcdClient::WatchEnd end) {
        if (stopped_ || gen != generation_) return;
        // The stream ends inside its own callback: drop it on the next turn.
        scheduler_.post([this, gen, end] {
          if (stopped_ || gen != generation_) return;
          watch_ended(end);
        });
      });
}

void EtcdCatalogImpl::watch_ended(const EtcdClient::WatchEnd& end) {
  watch_.reset();
  watching_ = false;
  if (end.compacted > 0) {
    ++stats_.resyncs;
    spdlog::info("cluster: revision {} was compacted (now {}): reading the catalog again",
                 revision_ + 1, end.compacted);
    return read_all();
  }
  note_etcd(false);
  spdlog::warn("cluster: watch lost ({}): resuming from revision {} in {} ms", end.error.message,
               revision_ + 1, watch_backoff_.count());
  arm_stale();
  watch_timer_.arm(watch_backoff_, [this] { watch_from_revision(); });
  watch_backoff_ = std::min<core::Duration>(watch_backoff_ * 2, 5000ms);
}

void EtcdCatalogImpl::watch_alive(std::int64_t revision) {
  stale_timer_.cancel();
  watch_backoff_ = 200ms;
  note_etcd(true);
  if (stale_) set_stale(false);
  // Lag: from when etcd acknowledged one of our writes to when the watch
  // delivered that revision.
  auto now = clock_.now();
  for (auto it = lag_probes_.begin(); it != lag_probes_.end() && it->first <= revision;) {
    watch_lag_seconds_ = std::chrono::duration<double>(now - it->second).count();
    it = lag_probes_.erase(it);
  }
}

// Stale after 3 s without a working watch: a member that dies, the
// election of a new leader (etcd's default election timeout is 1 s) and a
// watch that moves to the next member within that time change nothing.
void EtcdCatalogImpl::arm_stale() {
  if (stale_ || stale_timer_.armed()) return;
  stale_timer_.arm(3000ms, [this] {
    if (!stopped_) set_stale(true);
  });
}

void EtcdCatalogImpl::set_stale(bool stale) {
  if (stale_ == stale) return;
  stale_ = stale;
  if (stale)
    spdlog::warn("cluster: etcd unreachable: serving the last known catalog, marked stale");
  else
    spdlog::info("cluster: etcd reachable again: catalog current");
  if (events_.stale_changed) events_.stale_changed(stale);
}

void EtcdCatalogImpl::bad_record(const std::string& key, const std::string& why) {
  ++stats_.bad_records;
  if (reported_bad_.size() < 1000 && reported_bad_.insert(key).second)
    spdlog::warn("cluster: skipped key '{}': {}", key, why);
}

void EtcdCatalogImpl::apply(const std::string& key, const std::optional<std::string>& value) {
  auto k = parse_key(options_.prefix, key);
  switch (k.kind) {
    case CatalogKey::Kind::singleton:
      return;  // the elections' own keys (cluster/singletons.cpp)
    case CatalogKey::Kind::foreign:
      if (value) bad_record(key, "not a key meshd writes under its prefix");
      return;
    case CatalogKey::Kind::node: {
      if (k.node == options_.node) return;  // our own record
      if (!value) {
        auto it = nodes_.find(k.node);
        if (it == nodes_.end() || it->second.state != "alive") return;
        it->second.state = leaving_.count(k.node) ? "left" : "lost";
        leaving_.erase(k.node);
        if (events_.nodes_changed) events_.nodes_changed();
        return;
      }
      auto node = decode_node(k.node, *value);
      if (!node) return bad_record(key, "not a node record");
      node->record.state = "alive";
      node->record.last_seen_ms = core::to_unix_ms(clock_.wall_now());
      if (node->leaving)
        leaving_.insert(k.node);
      else
        leaving_.erase(k.node);
      nodes_[k.node] = node->record;
      if (events_.nodes_changed) events_.nodes_changed();
      return;
    }
    case CatalogKey::Kind::instance: {
      if (k.node == options_.node) {
        // Ours: anything we no longer own (an earlier run's) goes.
        if (value && !local_.count(key)) want(key, std::nullopt, true);
        return;
      }
      std::string id = k.id + "@" + k.node;
      if (!value) {
        if (remote_.erase(id) && events_.remote_deleted) events_.remote_deleted(id);
        return;
      }
      auto record = decode_instance(k.node, k.id, *value);
      if (!record) return bad_record(key, "not an instance record");
      remote_.insert(id);
      if (events_.remote_put) events_.remote_put(std::move(*record));
      return;
    }
    case CatalogKey::Kind::registration: {
      if (!value) {
        if (registrations_.erase(k.id) && events_.registration_deleted)
          events_.registration_deleted(k.id);
        return;
      }
      auto doc = nlohmann::json::parse(*value, nullptr, false);
      if (!doc.is_object() || !doc.contains("node") || !doc["node"].is_string() ||
          !doc.contains("registration") || !doc["registration"].is_object())
        return bad_record(key, "not a registration record");
      registrations_.insert(k.id);
      if (events_.registration_put)
        events_.registration_put(k.id, doc["registration"], doc["node"].get<std::string>());
      return;
    }
    case CatalogKey::Kind::overrides: {
      std::string id = unqualify(k.id, options_.node);
      if (!value) {
        if (overrides_.erase(id) && events_.overrides_deleted) events_.overrides_deleted(id);
        return;
      }
      auto doc = nlohmann::json::parse(*value, nullptr, false);
      if (!doc.is_object()) return bad_record(key, "not an overrides record");
      overrides_.insert(id);
      if (events_.overrides_put) events_.overrides_put(id, *value);
      return;
    }
  }
}

}  // namespace meshd::cluster
