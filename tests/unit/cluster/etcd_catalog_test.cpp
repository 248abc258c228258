#include "meshd/cluster/etcd_catalog.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_etcd.hpp"

namespace meshd::cluster {
namespace {

using namespace std::chrono_literals;
using registry::InstanceRecord;

// One simulated node: an EtcdCatalog on a shared FakeEtcd, recording
// what it hears.
struct Node {
  Node(testing::FakeEtcd& etcd, std::string name, std::string incarnation = "") : etcd_(etcd) {
    EtcdCatalogOptions o;
    o.node = name;
    o.prefix = "/meshd/";
    o.lease_ttl = 2s;
    o.incarnation = incarnation.empty() ? name + "-inc" : incarnation;
    o.advertise = "10.0.0." + std::to_string(name.size());
    catalog = EtcdCatalog::create(etcd.scheduler(), etcd.scheduler().clock(),
                                  std::make_unique<testing::FakeEtcdClient>(etcd), o,
                                  [this](const std::string& line) { refused = line; });
    registry::NodeRecord self;
    self.name = name;
    self.address = o.advertise;
    self.api_address = o.advertise + ":8090";
    catalog->set_self(self);
    registry::CatalogBackend::Events e;
    e.remote_put = [this](InstanceRecord r) { remote[r.id] = r; };
    e.remote_deleted = [this](const std::string& id) {
      ++remote_deletes;
      remote.erase(id);
    };
    e.registration_put = [this](const std::string& id, const nlohmann::json& doc,
                                const std::string& owner) {
      registrations[id] = {doc, owner};
    };
    e.registration_deleted = [this](const std::string& id) { registrations.erase(id); };
    e.overrides_put = [this](const std::string& id, const std::string& text) {
      overrides[id] = text;
    };
    e.overrides_deleted = [this](const std::string& id) { overrides.erase(id); };
    e.stale_changed = [this](bool s) { stale_changes.push_back(s); };
    e.nodes_changed = [this] { ++nodes_changed; };
    catalog->start(std::move(e));
  }
  InstanceRecord instance(std::string id, health::HealthStatus h = health::HealthStatus::passing) {
    InstanceRecord r;
    r.id = std::move(id);
    r.service = "api";
    r.address = "127.0.0.1";
    r.port = 9000;
    r.origin = registry::Origin::registered;
    r.health = h;
    return r;
  }
  std::string state_of(const std::string& node) const {
    for (const auto& n : catalog->nodes())
      if (n.name == node) return n.state;
    return "";
  }

  testing::FakeEtcd& etcd_;
  std::unique_ptr<EtcdCatalog> catalog;
  std::string refused;
  std::map<std::string, InstanceRecord> remote;
  int remote_deletes = 0;
  std::map<std::string, std::pair<nlohmann::json, std::string>> registrations;
  std::map<std::string, std::string> overrides;
  std::vector<bool> stale_changes;
  int nodes_changed = 0;
};

struct Cluster {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeEtcd etcd{scheduler};
  void run(core::Duration d = 10ms) { scheduler.advance(d); }
};

TEST(EtcdCatalog, ANodesInstancesReachTheOthersAsRemoteRecords) {
  Cluster c;
  Node a(c.etcd, "a"), b(c.etcd, "bb");
  c.run();
  ASSERT_TRUE(a.catalog->joined());
  ASSERT_TRUE(b.catalog->joined());
  a.catalog->publish(a.instance("api-0"));
  c.run();
  ASSERT_EQ(b.remote.count("api-0@a"), 1u);
  const auto& r = b.remote["api-0@a"];
  EXPECT_EQ(r.origin, registry::Origin::remote);
  EXPECT_EQ(r.node, "a");
  EXPECT_EQ(r.remote_origin, "registered");
  EXPECT_EQ(r.address, "10.0.0.1");  // loopback published as the advertise address
  EXPECT_EQ(r.health, health::HealthStatus::passing);
  EXPECT_TRUE(a.remote.empty());  // a node does not hear itself as remote
  EXPECT_EQ(b.state_of("a"), "alive");
  a.catalog->withdraw("api-0");
  c.run();
  EXPECT_EQ(b.remote.count("api-0@a"), 0u);
}

// A change is one write; an unchanged record is none; changes made while
// a write is in flight coalesce into one more write with the latest value.
TEST(EtcdCatalog, OneWritePerChangeAndNoneWithoutOne) {
  Cluster c;
  Node a(c.etcd, "a"), b(c.etcd, "bb");
  c.run();
  auto before = c.etcd.puts;
  a.catalog->publish(a.instance("api-0"));
  c.run();
  EXPECT_EQ(c.etcd.puts, before + 1);
  a.catalog->publish(a.instance("api-0"));
  c.run();
  EXPECT_EQ(c.etcd.puts, before + 1);
  a.catalog->publish(a.instance("api-0", health::HealthStatus::critical));
  a.catalog->publish(a.instance("api-0", health::HealthStatus::warning));
  a.catalog->publish(a.instance("api-0", health::HealthStatus::passing));
  c.run();
  // The last value equals what etcd holds: nothing to write at all.
  EXPECT_EQ(c.etcd.puts, before + 1);
  a.catalog->publish(a.instance("api-0", health::HealthStatus::critical));
  c.run();
  EXPECT_EQ(c.etcd.puts, before + 2);
  EXPECT_EQ(b.remote["api-0@a"].health, health::HealthStatus::critical);
  EXPECT_EQ(a.catalog->stats().writes, 2u);
}

TEST(EtcdCatalog, ANameHeldByAnotherNodeIsRefusedWithItsAddress) {
  Cluster c;
  Node a(c.etcd, "a");
  c.run();
  Node dup(c.etcd, "a", "another-data-dir");
  c.run();
  EXPECT_FALSE(dup.catalog->joined());
  EXPECT_NE(dup.refused.find("node name 'a' is already held by another meshd at 10.0.0.1"),
            std::string::npos)
      << dup.refused;
  EXPECT_TRUE(a.catalog->joined());
}

// meshd killed and restarted from the same data dir within its lease: it
// takes its name back instead of waiting for the old lease to expire.
TEST(EtcdCatalog, ARestartFromTheSameDataDirTakesItsNameBack) {
  Cluster c;
  Node b(c.etcd, "bb");
  auto a = std::make_unique<Node>(c.etcd, "a", "same");
  c.run();
  a->catalog->publish(a->instance("api-0"));
  a->catalog->publish(a->instance("api-1"));
  c.run();
  a.reset();  // killed: no goodbye, the lease lives on
  Node again(c.etcd, "a", "same");
  again.catalog->publish(again.instance("api-0"));
  c.run(100ms);
  EXPECT_TRUE(again.refused.empty()) << again.refused;
  EXPECT_TRUE(again.catalog->joined());
  // The earlier run's api-1 went with its lease; api-0 is there again.
  EXPECT_EQ(b.remote.count("api-0@a"), 1u);
  EXPECT_EQ(b.remote.count("api-1@a"), 0u);
}

TEST(EtcdCatalog, AKilledNodeIsLostWithinItsLeaseAndALeavingOneLeft) {
  Cluster c;
  Node b(c.etcd, "bb");
  auto a = std::make_unique<Node>(c.etcd, "a");
  auto d = std::make_unique<Node>(c.etcd, "d");
  c.run();
  a->catalog->publish(a->instance("api-0"));
  d->catalog->publish(d->instance("api-9"));
  c.run();
  ASSERT_EQ(b.remote.size(), 2u);
  a.reset();  // SIGKILL: no more keep-alives
  bool stopped = false;
  d->catalog->stop([&] { stopped = true; });
  c.run();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(b.state_of("d"), "left");
  EXPECT_EQ(b.remote.count("api-9@d"), 0u);
  EXPECT_EQ(b.state_of("a"), "alive");
  c.run(2s + 100ms);  // lease_ttl
  EXPECT_EQ(b.state_of("a"), "lost");
  EXPECT_TRUE(b.remote.empty());
}

// All of etcd gone: the last known catalog stays (stale), and on return
// the node resumes from its revision; a compacted revision means a full
// read, diffed so that nothing is lost or doubled.
TEST(EtcdCatalog, StaleWhileEtcdIsGoneThenResyncedWithoutLossOrDoubles) {
  Cluster c;
  Node a(c.etcd, "a"), b(c.etcd, "bb");
  c.run();
  a.catalog->publish(a.instance("api-0"));
  a.catalog->publish(a.instance("api-1"));
  c.run();
  c.etcd.set_down(true);
  c.run(2500ms);
  EXPECT_FALSE(b.catalog->stale());  // not yet: an election could be under way
  c.run(1000ms);
  EXPECT_TRUE(b.catalog->stale());
  ASSERT_EQ(b.stale_changes, std::vector<bool>{true});
  EXPECT_EQ(b.remote.size(), 2u);  // last known catalog kept
  EXPECT_FALSE(b.catalog->stats().etcd_up);
  // etcd back; before b's watch resumes, a's instances change and the
  // history is compacted away.
  c.etcd.restore();
  c.etcd.del("/meshd/instances/a/api-1");
  c.etcd.put(
      "/meshd/instances/a/api-2",
      R"({"id":"api-2","service":"api","address":"10.0.0.1","port":9002,"health":"passing"})", 0);
  c.etcd.compact();
  c.run(6s);
  EXPECT_FALSE(b.catalog->stale());
  EXPECT_EQ(b.stale_changes, (std::vector<bool>{true, false}));
  EXPECT_GE(b.catalog->stats().resyncs, 1u);
  std::set<std::string> ids;
  for (const auto& [id, r] : b.remote) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{"api-0@a", "api-2@a"}));
  EXPECT_EQ(b.remote_deletes, 1);
}

// One member failing over quickly (or a new leader elected) is not an
// outage: no stale flag.
TEST(EtcdCatalog, AWatchThatComesBackWithinASecondIsNotStale) {
  Cluster c;
  Node a(c.etcd, "a"), b(c.etcd, "bb");
  c.run();
  c.etcd.set_down(true);
  c.etcd.restore();  // the next member answers at once
  c.run(3s);
  EXPECT_TRUE(b.stale_changes.empty());
  a.catalog->publish(a.instance("api-0"));
  c.run();
  EXPECT_EQ(b.remote.count("api-0@a"), 1u);
}

TEST(EtcdCatalog, StartingWhileEtcdIsDownJoinsWhenItComes) {
  Cluster c;
  c.etcd.up = false;
  Node a(c.etcd, "a");
  a.catalog->publish(a.instance("api-0"));
  c.run(4s);
  EXPECT_FALSE(a.catalog->joined());
  EXPECT_TRUE(a.catalog->stale());
  c.etcd.restore();
  c.run(6s);
  EXPECT_TRUE(a.catalog->joined());
  EXPECT_FALSE(a.catalog->stale());
  EXPECT_EQ(c.etcd.kv.count("/meshd/instances/a/api-0"), 1u);
}

TEST(EtcdCatalog, RegistrationsAndOverridesAreClusterWideAndOutliveTheNode) {
  Cluster c;
  auto a = std::make_unique<Node>(c.etcd, "a");
  Node b(c.etcd, "bb");
  c.run();
  a->catalog->save_registration("pg-1", {{"service", "pg"}, {"id", "pg-1"}});
  a->catalog->save_overrides("api-0", R"({"drain":true})");
  b.catalog->save_overrides("api-0@a", R"({"maintenance":true})");
  c.run();
  ASSERT_EQ(b.registrations.count("pg-1"), 1u);
  EXPECT_EQ(b.registrations["pg-1"].second, "a");
  // Keyed "<id>@<node>" in etcd; each node hears its own ids plain.
  EXPECT_EQ(c.etcd.kv.count("/meshd/overrides/api-0@a"), 1u);
  EXPECT_EQ(a->overrides["api-0"], R"({"maintenance":true})");
  EXPECT_EQ(b.overrides["api-0@a"], R"({"maintenance":true})");
  a.reset();
  c.run(3s);
  EXPECT_EQ(c.etcd.kv.count("/meshd/registrations/pg-1"), 1u);
  EXPECT_EQ(b.registrations.count("pg-1"), 1u);
}

TEST(EtcdCatalog, ForeignAndMalformedKeysAreSkippedAndCounted) {
  Cluster c;
  Node b(c.etcd, "bb");
  c.run();
  c.etcd.put("/meshd/somebody-elses", "x", 0);
  c.etcd.put("/meshd/instances/z/api-0", "{not json", 0);
  c.etcd.put("/meshd/instances/z/api-1", R"({"id":"other","service":"api"})", 0);
  c.etcd.put("/meshd/nodes/z", "[]", 0);
  c.etcd.put("/meshd/registrations/r", R"({"registration":1})", 0);
  c.etcd.put("/other-prefix/x", "ignored: not ours to read", 0);
  c.run();
  EXPECT_EQ(b.catalog->stats().bad_records, 5u);
  EXPECT_TRUE(b.remote.empty());
  EXPECT_TRUE(b.registrations.empty());
}

TEST(EtcdCatalog, LeaseNotRenewedForHalfItsTtlFencesThenRenewedUnfences) {
  Cluster c;
  Node a(c.etcd, "a");
  int fenced = 0, renewed = 0, granted = 0;
  EtcdCatalog::LeaseHooks hooks;
  hooks.granted = [&](std::int64_t) { ++granted; };
  hooks.fenced = [&] { ++fenced; };
  hooks.renewed = [&] { ++renewed; };
  a.catalog->set_lease_hooks(hooks);
  c.run(700ms);  // joined, and renewed once (every ttl/3)
  c.etcd.up = false;
  c.run(900ms);
  EXPECT_EQ(fenced, 0);
  c.run(200ms);  // past ttl/2 since the last renewal
  EXPECT_EQ(fenced, 1);
  c.etcd.restore();
  c.run(1s);
  EXPECT_EQ(renewed, 1);
  EXPECT_EQ(granted, 1);  // the first join only: the lease never expired
}

}  // namespace
}  // namespace meshd::cluster
