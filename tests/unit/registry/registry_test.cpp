#include "meshd/registry/registry.hpp"

#include <gtest/gtest.h>

#include "meshd/registry/rotation.hpp"

namespace meshd::registry {
namespace {

using health::HealthStatus;

InstanceRecord record(std::string id, std::string service, HealthStatus h = HealthStatus::passing) {
  InstanceRecord r;
  r.id = std::move(id);
  r.service = std::move(service);
  r.address = "127.0.0.1";
  r.port = 9000;
  r.origin = Origin::registered;
  r.health = h;
  return r;
}

TEST(Registry, EachServiceHasItsOwnIndex) {
  Registry reg;
  reg.set_services({"a", "b"});
  auto a0 = reg.index("a"), b0 = reg.index("b");
  EXPECT_TRUE(reg.upsert(record("a-1", "a")));
  EXPECT_GT(reg.index("a"), a0);
  EXPECT_EQ(reg.index("b"), b0);
}

TEST(Registry, OnlyChangesDiscoveryShowsRaiseTheIndex) {
  Registry reg;
  reg.set_services({"a"});
  reg.upsert(record("a-1", "a"));
  auto idx = reg.index("a");
  auto same = record("a-1", "a");
  same.health_output = "HTTP 200 at a new time";
  same.pid = 42;
  EXPECT_FALSE(reg.upsert(same));
  EXPECT_EQ(reg.index("a"), idx);
  EXPECT_EQ(reg.find("a-1")->health_output, "HTTP 200 at a new time");  // stored all the same
  EXPECT_TRUE(reg.upsert(record("a-1", "a", HealthStatus::critical)));
  EXPECT_GT(reg.index("a"), idx);
}

// The revision moves with what discovery shows of one instance, overrides
// included, and only then: views of an instance are cached by it.
TEST(Registry, AnInstancesRevisionMovesWhenWhatDiscoveryShowsOfItChanges) {
  Registry reg;
  reg.set_services({"a"});
  reg.upsert(record("a-1", "a"));
  reg.upsert(record("a-2", "a"));
  auto r1 = reg.find("a-1")->revision, r2 = reg.find("a-2")->revision;
  EXPECT_NE(r1, 0u);
  EXPECT_NE(r1, r2);
  auto same = record("a-1", "a");
  same.health_output = "new output";
  reg.upsert(same);
  EXPECT_EQ(reg.find("a-1")->revision, r1);
  reg.upsert(record("a-1", "a", HealthStatus::critical));
  auto r1b = reg.find("a-1")->revision;
  EXPECT_GT(r1b, r1);
  EXPECT_EQ(reg.find("a-2")->revision, r2);  // the other instance is untouched
  reg.set_overrides("a-2", Overrides{true, false, "upgrade"});
  EXPECT_GT(reg.find("a-2")->revision, r2);
  auto r2b = reg.find("a-2")->revision;
  reg.set_overrides("a-2", Overrides{true, false, "another note"});  // drain stays: nothing to show
  EXPECT_EQ(reg.find("a-2")->revision, r2b);
  EXPECT_EQ(reg.find("a-1")->revision, r1b);
}

TEST(Registry, UnknownServicesAreRefused) {
  Registry reg;
  reg.set_services({"a"});
  EXPECT_FALSE(reg.upsert(record("x-1", "x")));
  EXPECT_EQ(reg.find("x-1"), nullptr);
  EXPECT_EQ(reg.index("x"), 0u);
}

TEST(Registry, WatchersWakeOnTheirServiceOnly) {
  Registry reg;
  reg.set_services({"a", "b"});
  int woke_a = 0, woke_b = 0;
  reg.watch("a", reg.index("a"), [&] { ++woke_a; });
  reg.watch("b", reg.index("b"), [&] { ++woke_b; });
  EXPECT_EQ(reg.watchers(), 2u);
  reg.upsert(record("a-1", "a"));
  EXPECT_EQ(woke_a, 1);
  EXPECT_EQ(woke_b, 0);
  reg.upsert(record("a-2", "a"));
  EXPECT_EQ(woke_a, 1);  // once only
  EXPECT_EQ(reg.watchers(), 1u);
}

TEST(Registry, AWatchOnAnOldIndexFiresAtOnceAndCancelWorks) {
  Registry reg;
  reg.set_services({"a"});
  int fired = 0;
  EXPECT_EQ(reg.watch("a", 0, [&] { ++fired; }), 0u);
  EXPECT_EQ(fired, 1);
  auto id = reg.watch("a", reg.index("a"), [&] { ++fired; });
  reg.cancel(id);
  reg.upsert(record("a-1", "a"));
  EXPECT_EQ(fired, 1);
}

TEST(Registry, OverridesApplyToInstancesThatAppearLaterAndRaiseTheIndex) {
  Registry reg;
  reg.set_services({"a"});
  reg.set_overrides("a-1", Overrides{true, false, "deploy"});
  reg.upsert(record("a-1", "a"));
  EXPECT_TRUE(reg.overrides("a-1").drain);
  auto idx = reg.index("a");
  reg.set_overrides("a-1", Overrides{});
  EXPECT_GT(reg.index("a"), idx);
  EXPECT_TRUE(reg.all_overrides().empty());
}

TEST(Registry, RetainDropsOnlyTheGivenOrigin) {
  Registry reg;
  reg.set_services({"a"});
  auto m = record("a-0", "a");
  m.origin = Origin::managed;
  m.process_state = "running";
  reg.upsert(m);
  reg.upsert(record("a-r", "a"));
  reg.retain("a", Origin::managed, {});
  EXPECT_EQ(reg.find("a-0"), nullptr);
  EXPECT_NE(reg.find("a-r"), nullptr);
}

TEST(Registry, RemovingAServiceWakesItsWatchers) {
  Registry reg;
  reg.set_services({"a", "b"});
  reg.upsert(record("a-1", "a"));
  bool woke = false;
  reg.watch("a", reg.index("a"), [&] { woke = true; });
  reg.set_services({"b"});
  EXPECT_TRUE(woke);
  EXPECT_EQ(reg.find("a-1"), nullptr);
  EXPECT_FALSE(reg.has_service("a"));
}

TEST(Rotation, ReasonsNameEachCause) {
  auto r = record("a-1", "a", HealthStatus::critical);
  r.origin = Origin::managed;
  r.process_state = "backoff";
  r.check_type = "http";
  r.health_output = "connection refused";
  auto reasons = rotation_reasons(r, Overrides{true, true, "upgrade"});
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0].kind, "process");
  EXPECT_EQ(reasons[1].kind, "health");
  EXPECT_EQ(reasons[1].output, "connection refused");
  EXPECT_EQ(reasons[2].kind, "drain");
  EXPECT_NE(reasons[2].message.find("upgrade"), std::string::npos);
  EXPECT_EQ(reasons[3].kind, "maintenance");
  EXPECT_TRUE(rotation_reasons(record("b-1", "b"), Overrides{}).empty());
}

}  // namespace
}  // namespace meshd::registry

namespace meshd::registry {
namespace {

// A thousand changes at once (a node's instances leaving with its lease)
// are announced once per service, after the last; indexes rise as usual.
TEST(RegistryHold, ChangesWhileHeldAreAnnouncedOncePerServiceAtRelease) {
  Registry r;
  r.set_services({"a", "b"});
  std::map<std::string, int> heard;
  r.add_listener([&](const std::string& s) { ++heard[s]; });
  int woken = 0;
  r.watch("a", r.index("a"), [&] { ++woken; });
  r.hold_notifications();
  auto before = r.index("a");
  for (int i = 0; i < 100; ++i) {
    InstanceRecord rec;
    rec.id = "a-" + std::to_string(i);
    rec.service = i % 2 ? "a" : "b";
    rec.address = "127.0.0.1";
    rec.port = 1;
    r.upsert(rec);
  }
  EXPECT_GT(r.index("a"), before);
  EXPECT_TRUE(heard.empty());
  EXPECT_EQ(woken, 0);
  r.release_notifications();
  EXPECT_EQ(heard["a"], 1);
  EXPECT_EQ(heard["b"], 1);
  EXPECT_EQ(woken, 1);
  r.remove("a-1");
  EXPECT_EQ(heard["a"], 2);  // no longer held
}

}  // namespace
}  // namespace meshd::registry
