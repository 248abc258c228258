#include "meshd/gateway/route_table.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::gateway {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

struct Fixture {
  testing::FakeClock clock;
  core::EventBus events{clock};
  registry::Registry registry;
  std::shared_ptr<config::Config> cfg = std::make_shared<config::Config>();
  RouteTable table{&events, 7};

  explicit Fixture(int instances, std::function<void(config::ServiceSpec&)> edit = {}) {
    config::ServiceSpec s;
    s.name = "api";
    s.addresses.resize(static_cast<std::size_t>(instances));
    s.circuit_breaker.window_calls = 4;
    s.circuit_breaker.minimum_calls = 4;
    s.circuit_breaker.failure_rate = 0.5;
    s.outlier_detection.consecutive_failures = 100;  // out of the way unless a test wants it
    if (edit) edit(s);
    cfg->services.push_back(s);
    registry.set_services({"api"});
    for (int i = 0; i < instances; ++i) registry.upsert(record(i, HealthStatus::passing));
    table.set_config(cfg);
    route()->update(registry, clock.now());
  }
  registry::InstanceRecord record(int i, HealthStatus h) {
    registry::InstanceRecord r;
    r.id = "api-" + std::to_string(i);
    r.service = "api";
    r.address = "127.0.0.1";
    r.port = static_cast<std::uint16_t>(9000 + i);
    r.origin = registry::Origin::registered;
    r.health = h;
    return r;
  }
  std::shared_ptr<ServiceRoute> route() { return table.find("api"); }
  std::string pick_id() {
    auto p = route()->pick({clock.now(), std::nullopt});
    if (!p) return "error: " + p.error().message;
    route()->on_result(p->host->id, Outcome::success, 1ms, clock.now());
    return p->host->id;
  }
  void set_health(int i, HealthStatus h) {
    registry.upsert(record(i, h));
    route()->update(registry, clock.now());
  }
};

TEST(ServiceRoute, SpreadsOverHealthyInstancesOnly) {
  Fixture f(3);
  f.set_health(1, HealthStatus::critical);
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[f.pick_id()];
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts["api-0"], 50);
  EXPECT_EQ(counts["api-2"], 50);
}

TEST(ServiceRoute, NoInstanceIsAnExplainedUnavailable) {
  Fixture f(2, [](config::ServiceSpec& s) { s.panic_threshold = 0; });
  f.set_health(0, HealthStatus::critical);
  f.set_health(1, HealthStatus::critical);
  auto p = f.route()->pick({f.clock.now(), std::nullopt});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, core::ErrorCode::unavailable);
  EXPECT_NE(p.error().message.find("no healthy instance"), std::string::npos);
}

TEST(ServiceRoute, PanicRoutesToAllWhenTooFewAreHealthy) {
  Fixture f(4, [](config::ServiceSpec& s) { s.panic_threshold = 0.5; });
  for (int i = 0; i < 3; ++i) f.set_health(i, HealthStatus::critical);
  auto p = f.route()->pick({f.clock.now(), std::nullopt});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->panic);
}

TEST(ServiceRoute, AFailingInstanceOpensItsBreakerAndLeavesRotation) {
  Fixture f(2);
  for (int i = 0; i < 4; ++i) f.route()->on_result("api-1", Outcome::http_5xx, 1ms, f.clock.now());
  EXPECT_EQ(f.route()->breaker("api-1")->state(f.clock.now()), breaker::BreakerState::open);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f.pick_id(), "api-0");
  auto reasons = f.route()->reasons("api-1", f.clock.now());
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0].kind, "breaker");
  // After open_for it is tried again and, succeeding, closes.
  f.clock.advance(11s);
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(f.pick_id());
  EXPECT_TRUE(seen.count("api-1"));
}

TEST(ServiceRoute, AllBreakersOpenIsSaid) {
  Fixture f(1);
  f.route()->breaker("api-0")->force_open();
  auto p = f.route()->pick({f.clock.now(), std::nullopt});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("circuit breaker"), std::string::npos);
}

TEST(ServiceRoute, DrainedInstancesGetNoTraffic) {
  Fixture f(2);
  f.registry.set_overrides("api-0", registry::Overrides{true, false, ""});
  f.route()->update(f.registry, f.clock.now());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(f.pick_id(), "api-1");
}

TEST(ServiceRoute, RetriesSkipInstancesAlreadyTried) {
  Fixture f(3);
  std::set<std::string> tried{"api-0", "api-1"};
  for (int i = 0; i < 5; ++i) {
    auto p = f.route()->pick({f.clock.now(), std::nullopt}, tried);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->host->id, "api-2");
    f.route()->on_result("api-2", Outcome::cancelled, 0ms, f.clock.now());
  }
}

TEST(ServiceRoute, OutlierEjectionTakesAnInstanceOutUntilItsTimeEnds) {
  Fixture f(3, [](config::ServiceSpec& s) {
    s.outlier_detection.consecutive_failures = 3;
    s.outlier_detection.ejection_time = 30000ms;
    s.circuit_breaker.enabled = false;
  });
  for (int i = 0; i < 3; ++i)
    f.route()->on_result("api-2", Outcome::connect_failure, 1ms, f.clock.now());
  for (int i = 0; i < 20; ++i) EXPECT_NE(f.pick_id(), "api-2");
  f.set_health(2, HealthStatus::passing);  // an active check does not bring it back early
  EXPECT_NE(f.pick_id(), "api-2");
  f.clock.advance(31s);
  std::set<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.insert(f.pick_id());
  EXPECT_TRUE(seen.count("api-2"));
  bool event = false;
  for (const auto& e : f.events.recent(0, 100))
    event |= e.type == "outlier.ejected" && e.instance == "api-2";
  EXPECT_TRUE(event);
}

TEST(ServiceRoute, ARejoiningInstanceSlowStarts) {
  Fixture f(2, [](config::ServiceSpec& s) {
    s.slow_start = 10000ms;
    s.load_balancer = config::LoadBalancerPolicy::weighted_round_robin;
  });
  f.clock.advance(20s);
  f.set_health(1, HealthStatus::critical);
  f.set_health(1, HealthStatus::passing);
  auto reasons = f.route()->reasons("api-1", f.clock.now());
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].kind, "slow_start");
  int to_new = 0;
  for (int i = 0; i < 100; ++i) to_new += f.pick_id() == "api-1";
  EXPECT_LT(to_new, 25);  // ~10% at the start of the ramp
}

TEST(ServiceRoute, KeepsHostStateAcrossRegistryUpdatesAndDropsGoneHosts) {
  Fixture f(2);
  f.route()->breaker("api-0")->force_open();
  f.registry.upsert(f.record(2, HealthStatus::passing));
  f.route()->update(f.registry, f.clock.now());
  EXPECT_EQ(f.route()->breaker("api-0")->state(f.clock.now()), breaker::BreakerState::forced_open);
  f.registry.remove("api-1");
  f.route()->update(f.registry, f.clock.now());
  EXPECT_EQ(f.route()->breaker("api-1"), nullptr);
  EXPECT_EQ(f.route()->host_ids(), (std::vector<std::string>{"api-0", "api-2"}));
}

// update() merges the registry's id-ordered list with its own: arrivals and
// departures before, between and after the instances that stay, and a
// changed address, all in one update; what stays keeps its state.
TEST(ServiceRoute, OneUpdateMergesArrivalsDeparturesAndChanges) {
  Fixture f(4);
  f.route()->breaker("api-2")->force_open();
  auto add = [&f](const std::string& id, std::uint16_t port) {
    auto r = f.record(0, HealthStatus::passing);
    r.id = id;
    r.port = port;
    f.registry.upsert(r);
  };
  f.registry.remove("api-0");
  f.registry.remove("api-3");
  add("api-00", 9100);  // sorts before api-1
  add("api-15", 9115);  // between api-1 and api-2
  add("api-9", 9109);   // after everything
  auto moved = f.record(1, HealthStatus::passing);
  moved.port = 9999;
  f.registry.upsert(moved);
  f.route()->update(f.registry, f.clock.now());
  EXPECT_EQ(f.route()->host_ids(),
            (std::vector<std::string>{"api-00", "api-1", "api-15", "api-2", "api-9"}));
  EXPECT_EQ(f.route()->host("api-1")->port, 9999);
  EXPECT_EQ(f.route()->host("api-15")->port, 9115);
  EXPECT_EQ(f.route()->breaker("api-2")->state(f.clock.now()), breaker::BreakerState::forced_open);
  std::set<std::string> seen;
  for (int i = 0; i < 60; ++i) seen.insert(f.pick_id());
  EXPECT_EQ(seen, (std::set<std::string>{"api-00", "api-1", "api-15",
                                         "api-9"}));  // api-2's breaker is open
  // Nothing changed: an update leaves everything as it is.
  f.route()->update(f.registry, f.clock.now());
  EXPECT_EQ(f.route()->host_ids().size(), 5u);
  EXPECT_EQ(f.route()->breaker("api-2")->state(f.clock.now()), breaker::BreakerState::forced_open);
}

// The ids of `n` random picks from `table`'s service `name`, each call
// reported a success.
std::vector<std::string> random_picks(RouteTable& table, const std::string& name,
                                      testing::FakeClock& clock, int n) {
  std::vector<std::string> ids;
  auto route = table.find(name);
  for (int i = 0; i < n; ++i) {
    auto p = route->pick({clock.now(), std::nullopt});
    if (!p) return ids;
    route->on_result(p->host->id, Outcome::success, 1ms, clock.now());
    ids.push_back(p->host->id);
  }
  return ids;
}

// A reload that changes the balancer builds it again from the route's seed:
// the same choices as a route built with that policy from the start, and
// no two routes drawing one sequence.
TEST(RouteTable, ARebuiltBalancerKeepsItsRoutesSeed) {
  auto with_policy = [](config::LoadBalancerPolicy policy) {
    return [policy](config::ServiceSpec& s) { s.load_balancer = policy; };
  };
  Fixture fresh(8, with_policy(config::LoadBalancerPolicy::random));
  Fixture rebuilt(8, with_policy(config::LoadBalancerPolicy::round_robin));
  auto reload = std::make_shared<config::Config>(*rebuilt.cfg);
  reload->services[0].load_balancer = config::LoadBalancerPolicy::random;
  rebuilt.table.set_config(reload);
  auto expected = random_picks(fresh.table, "api", fresh.clock, 40);
  ASSERT_EQ(expected.size(), 40u);
  EXPECT_EQ(random_picks(rebuilt.table, "api", rebuilt.clock, 40), expected);
}

TEST(RouteTable, RoutesRebuiltByOneReloadDrawDifferentSequences) {
  testing::FakeClock clock;
  registry::Registry registry;
  RouteTable table(nullptr, 7);
  auto cfg = std::make_shared<config::Config>();
  std::vector<std::string> names{"api", "web"};
  registry.set_services(names);
  for (const auto& name : names) {
    config::ServiceSpec s;
    s.name = name;
    s.load_balancer = config::LoadBalancerPolicy::round_robin;
    cfg->services.push_back(s);
    for (int i = 0; i < 8; ++i) {
      registry::InstanceRecord r;
      r.id = name + "-" + std::to_string(i);  // numbered alike in both services
      r.service = name;
      r.address = "127.0.0.1";
      r.port = static_cast<std::uint16_t>(9000 + i);
      r.origin = registry::Origin::registered;
      r.health = HealthStatus::passing;
      registry.upsert(r);
    }
  }
  table.set_config(cfg);
  auto reload = std::make_shared<config::Config>(*cfg);
  for (auto& s : reload->services) s.load_balancer = config::LoadBalancerPolicy::random;
  table.set_config(reload);
  std::vector<std::vector<std::string>> positions;
  for (const auto& name : names) {
    table.find(name)->update(registry, clock.now());
    auto ids = random_picks(table, name, clock, 40);
    ASSERT_EQ(ids.size(), 40u);
    for (auto& id : ids) id = id.substr(id.find('-') + 1);  // the instance's number
    positions.push_back(ids);
  }
  EXPECT_NE(positions[0], positions[1]);
}

TEST(TrafficStats, SummarisesTheLastCompleteSecond) {
  testing::FakeClock clock;
  TrafficStats stats;
  for (int i = 0; i < 100; ++i)
    stats.record(i < 10 ? 503 : 200, std::chrono::microseconds(1000 * (i + 1)), clock.now());
  clock.advance(1s);
  auto s = stats.last_second(clock.now());
  EXPECT_EQ(s.requests, 100u);
  EXPECT_DOUBLE_EQ(s.error_rate, 0.1);
  EXPECT_NEAR(s.p99_ms, 99.0, 1.0);
  EXPECT_EQ(stats.errors(), 10u);
  clock.advance(5s);
  EXPECT_EQ(stats.last_second(clock.now()).requests, 0u);
}

// locality: prefer_local keeps calls on this node's instances while one of
// them can take the call, and spills over to the other nodes' otherwise.
struct ClusterFixture : Fixture {
  explicit ClusterFixture(config::Locality locality)
      : Fixture(2, [locality](config::ServiceSpec& s) { s.locality = locality; }) {
    for (int i = 0; i < 2; ++i) upsert_remote(i, HealthStatus::passing);
    route()->update(registry, clock.now());
  }
  void upsert_remote(int i, HealthStatus h) {
    registry::InstanceRecord r = record(i, h);
    r.id = "api-" + std::to_string(i) + "@other";
    r.address = "10.0.0.2";
    r.origin = registry::Origin::remote;
    r.remote_origin = "registered";
    r.node = "other";
    registry.upsert(r);
  }
  std::map<std::string, int> spread(int calls) {
    std::map<std::string, int> counts;
    for (int i = 0; i < calls; ++i) ++counts[pick_id()];
    return counts;
  }
};

TEST(ServiceRoute, PreferLocalPicksOnlyLocalInstancesWhileOneIsEligible) {
  ClusterFixture f(config::Locality::prefer_local);
  EXPECT_EQ(f.spread(100), (std::map<std::string, int>{{"api-0", 50}, {"api-1", 50}}));
  f.set_health(0, HealthStatus::critical);
  EXPECT_EQ(f.spread(10), (std::map<std::string, int>{{"api-1", 10}}));
  // No local instance is eligible: every remote one takes calls.
  f.set_health(1, HealthStatus::critical);
  EXPECT_EQ(f.spread(10), (std::map<std::string, int>{{"api-0@other", 5}, {"api-1@other", 5}}));
  f.set_health(0, HealthStatus::passing);
  EXPECT_EQ(f.spread(10), (std::map<std::string, int>{{"api-0", 10}}));
  // resolve (peek) follows the same rule.
  auto peeked = f.route()->peek({f.clock.now(), std::nullopt});
  ASSERT_TRUE(peeked.ok());
  EXPECT_EQ(peeked->host->id, "api-0");
}

TEST(ServiceRoute, PreferLocalSpillsOverWhenTheLocalBreakersAreOpen) {
  ClusterFixture f(config::Locality::prefer_local);
  for (int i = 0; i < 4; ++i)
    for (const char* id : {"api-0", "api-1"})
      f.route()->on_result(id, Outcome::http_5xx, 1ms, f.clock.now(), false);
  auto counts = f.spread(10);
  EXPECT_EQ(counts.count("api-0") + counts.count("api-1"), 0u);
  EXPECT_EQ(counts["api-0@other"] + counts["api-1@other"], 10);
}

TEST(ServiceRoute, AnyLocalitySpreadsOverEveryNode) {
  ClusterFixture f(config::Locality::any);
  EXPECT_EQ(f.spread(100).size(), 4u);
  // A reload that turns prefer_local on applies in place.
  auto next = std::make_shared<config::Config>(*f.cfg);
  next->services[0].locality = config::Locality::prefer_local;
  f.table.set_config(next);
  auto counts = f.spread(10);
  EXPECT_EQ(counts["api-0"] + counts["api-1"], 10);
}

}  // namespace
}  // namespace meshd::gateway
