// Gateway threads: the snapshot the control loop publishes, each thread's
// picks from it, and the outcomes that go back.
#include "gateway/worker_route.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fakes/fake_clock.hpp"

namespace meshd::gateway {
namespace {

using namespace std::chrono_literals;
using breaker::BreakerState;
using health::HealthStatus;

struct Fixture {
  testing::FakeClock clock;
  core::EventBus events{clock};
  registry::Registry registry;
  std::shared_ptr<config::Config> cfg = std::make_shared<config::Config>();
  RouteTable table{&events, 7};
  boost::asio::io_context io;  // a gateway thread's loop, run by hand
  std::vector<CallRecord> delivered;
  int changes = 0;

  explicit Fixture(int instances, std::function<void(config::ServiceSpec&)> edit = {}) {
    config::ServiceSpec s;
    s.name = "api";
    s.addresses.resize(static_cast<std::size_t>(instances));
    s.circuit_breaker.window_calls = 4;
    s.circuit_breaker.minimum_calls = 4;
    s.circuit_breaker.failure_rate = 0.5;
    s.circuit_breaker.half_open_calls = 2;
    s.outlier_detection.consecutive_failures = 100;
    if (edit) edit(s);
    cfg->services.push_back(s);
    registry.set_services({"api"});
    for (int i = 0; i < instances; ++i) registry.upsert(record(i, HealthStatus::passing));
    table.set_on_change([this] { ++changes; });
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
  /// A gateway thread's routes, fed the current snapshot.
  std::unique_ptr<WorkerRoutes> thread(std::uint64_t seed = 1) {
    auto link = std::make_shared<WorkerLink>(io, [this](std::vector<CallRecord> batch) {
      delivered.insert(delivered.end(), batch.begin(), batch.end());
    });
    auto routes = std::make_unique<WorkerRoutes>(link, seed);
    publish(*routes);
    return routes;
  }
  void publish(WorkerRoutes& routes) { routes.apply(*make_snapshot(table, clock.now(), 1)); }
  /// The thread's loop runs its round: the batch goes to the control loop.
  void deliver() {
    io.run();  // until the batch timer has fired
    io.restart();
    apply_records(table, delivered);
    delivered.clear();
  }
  void set_health(int i, HealthStatus h) {
    registry.upsert(record(i, h));
    route()->update(registry, clock.now());
  }
};

std::string pick_id(WorkerRoute& r, core::TimePoint now) {
  auto p = r.pick({now, std::nullopt});
  if (!p) return "error: " + p.error().message;
  r.on_result(p->host->id, Outcome::success, 1ms, now);
  return p->host->id;
}

TEST(RoutingSnapshot, ShowsWhatTheControlLoopDecided) {
  Fixture f(3);
  f.registry.set_overrides("api-0", registry::Overrides{true, false, ""});
  f.set_health(1, HealthStatus::critical);
  f.route()->breaker("api-2")->force_open();
  auto snap = make_snapshot(f.table, f.clock.now(), 5);
  EXPECT_EQ(snap->generation, 5u);
  const auto& hosts = snap->services.at("api").hosts;
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_TRUE(hosts[0].overridden);
  EXPECT_TRUE(hosts[0].healthy);
  EXPECT_FALSE(hosts[1].healthy);
  EXPECT_EQ(hosts[2].breaker, BreakerState::forced_open);
  EXPECT_EQ(hosts[2].port, 9002);
}

TEST(RoutingSnapshot, EveryChangeAThreadMustSeeCallsTheListener) {
  Fixture f(2, [](config::ServiceSpec& s) { s.outlier_detection.consecutive_failures = 2; });
  int before = f.changes;
  f.set_health(1, HealthStatus::critical);  // registry
  EXPECT_GT(f.changes, before);
  before = f.changes;
  f.route()->update(f.registry, f.clock.now());  // nothing new: no change
  EXPECT_EQ(f.changes, before);
  f.route()->breaker("api-0")->force_open();  // breaker transition
  EXPECT_GT(f.changes, before);
  before = f.changes;
  f.route()->on_result("api-0", Outcome::reset, 1ms, f.clock.now());
  f.route()->on_result("api-0", Outcome::reset, 1ms, f.clock.now());  // ejection
  EXPECT_GT(f.changes, before);
  before = f.changes;
  f.table.set_config(f.cfg);  // reload
  EXPECT_GT(f.changes, before);
}

TEST(WorkerRoute, PicksOnlyEligibleInstancesFromItsSnapshot) {
  Fixture f(3);
  f.registry.set_overrides("api-0", registry::Overrides{true, false, ""});
  f.route()->update(f.registry, f.clock.now());
  auto t = f.thread();
  auto r = t->find("api");
  ASSERT_TRUE(r);
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[pick_id(*r, f.clock.now())];
  EXPECT_EQ(counts, (std::map<std::string, int>{{"api-1", 50}, {"api-2", 50}}));
  // Ready again: the next snapshot puts it back, in the same WorkerRoute.
  f.registry.set_overrides("api-0", registry::Overrides{});
  f.route()->update(f.registry, f.clock.now());
  f.publish(*t);
  EXPECT_EQ(t->find("api"), r);
  counts.clear();
  for (int i = 0; i < 99; ++i) ++counts[pick_id(*r, f.clock.now())];
  EXPECT_EQ(counts.size(), 3u);
}

TEST(WorkerRoute, EjectedAndOpenInstancesAreSkippedUntilTheirTimeEnds) {
  Fixture f(2, [](config::ServiceSpec& s) {
    s.outlier_detection.consecutive_failures = 1;
    s.outlier_detection.ejection_time = 10000ms;
  });
  f.route()->on_result("api-1", Outcome::reset, 1ms, f.clock.now());  // ejected for 10s
  auto t = f.thread();
  auto r = t->find("api");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pick_id(*r, f.clock.now()), "api-0");
  f.clock.advance(11s);  // no new snapshot needed: the time is in it
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(pick_id(*r, f.clock.now()));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(WorkerRoute, OutcomesAndCountersReachTheControlLoop) {
  Fixture f(2);
  auto t = f.thread();
  auto r = t->find("api");
  for (int i = 0; i < 4; ++i) r->on_result("api-1", Outcome::http_5xx, 1ms, f.clock.now());
  r->stats().record(503, 2ms, f.clock.now());
  r->stats().record_retry();
  r->on_result("api-0", Outcome::cancelled, 1ms, f.clock.now());  // not reported
  EXPECT_EQ(f.route()->stats().requests(), 0u);  // not before the thread's round ends
  f.deliver();
  EXPECT_EQ(f.route()->breaker("api-1")->state(f.clock.now()), BreakerState::open);
  EXPECT_EQ(f.route()->host("api-1")->failures, 4u);
  EXPECT_EQ(f.route()->host("api-0")->requests, 0u);
  EXPECT_EQ(f.route()->stats().requests(), 1u);
  EXPECT_EQ(f.route()->stats().retries(), 1u);
  // The breaker's opening is the next snapshot: the thread stops sending.
  f.publish(*t);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pick_id(*r, f.clock.now()), "api-0");
}

TEST(WorkerRoute, HalfOpenTrialsAreBoundedOverAllThreads) {
  Fixture f(1);
  for (int i = 0; i < 4; ++i) f.route()->on_result("api-0", Outcome::http_5xx, 1ms, f.clock.now());
  auto a = f.thread(1), b = f.thread(2);
  auto ra = a->find("api"), rb = b->find("api");
  EXPECT_FALSE(ra->pick({f.clock.now(), std::nullopt}).ok());  // open
  f.clock.advance(11s);                                        // past open_for: half open
  auto p1 = ra->pick({f.clock.now(), std::nullopt});
  auto p2 = rb->pick({f.clock.now(), std::nullopt});
  ASSERT_TRUE(p1.ok());
  ASSERT_TRUE(p2.ok());
  // half_open_calls = 2, both taken: neither thread admits a third.
  EXPECT_FALSE(ra->pick({f.clock.now(), std::nullopt}).ok());
  EXPECT_FALSE(rb->pick({f.clock.now(), std::nullopt}).ok());
  // A cancelled trial gives its permit back, to whichever thread asks.
  ra->on_result("api-0", Outcome::cancelled, 0ms, f.clock.now());
  auto p3 = rb->pick({f.clock.now(), std::nullopt});
  ASSERT_TRUE(p3.ok());
  rb->on_result("api-0", Outcome::success, 1ms, f.clock.now());
  rb->on_result("api-0", Outcome::success, 1ms, f.clock.now());
  f.deliver();
  EXPECT_EQ(f.route()->breaker("api-0")->state(f.clock.now()), BreakerState::closed);
  f.publish(*a);
  EXPECT_EQ(pick_id(*ra, f.clock.now()), "api-0");
}

TEST(WorkerRoute, InFlightCountsEveryThread) {
  Fixture f(1);
  auto a = f.thread(1), b = f.thread(2);
  auto pa = a->find("api")->pick({f.clock.now(), std::nullopt});
  auto pb = b->find("api")->pick({f.clock.now(), std::nullopt});
  ASSERT_TRUE(pa.ok() && pb.ok());
  a->find("api")->acquire(*pa->host);
  b->find("api")->acquire(*pb->host);
  EXPECT_EQ(f.route()->in_flight("api-0"), 2);
  EXPECT_EQ(pa->host->active_requests, 1);  // each thread balances on its own count
  a->find("api")->release(*pa->host);
  b->find("api")->release(*pb->host);
  EXPECT_EQ(f.route()->in_flight("api-0"), 0);
}

TEST(WorkerRoutes, WithOneThreadEveryCallGoesToTheControlLoopsRoute) {
  Fixture f(2);
  WorkerRoutes routes(f.table);
  auto r = routes.find("api");
  ASSERT_TRUE(r);
  EXPECT_EQ(routes.find("api"), r);
  EXPECT_EQ(r->direct(), f.route().get());
  auto p = r->pick({f.clock.now(), std::nullopt});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, f.route()->host(p->host->id));  // the control loop's own Host
  r->acquire(*p->host);
  EXPECT_EQ(f.route()->in_flight(p->host->id), 1);
  r->release(*p->host);
  r->stats().record(200, 1ms, f.clock.now());
  EXPECT_EQ(f.route()->stats().requests(), 1u);  // at once, no batch
  EXPECT_EQ(routes.find("nope"), nullptr);
}

TEST(WorkerRoutes, AServiceRemovedByAReloadLeavesTheThread) {
  Fixture f(1);
  auto t = f.thread();
  auto kept = t->find("api");
  f.cfg->services.clear();
  f.table.set_config(f.cfg);
  f.publish(*t);
  EXPECT_EQ(t->find("api"), nullptr);
  EXPECT_EQ(kept->spec().name, "api");  // a session holding it goes on
}

}  // namespace
}  // namespace meshd::gateway

namespace meshd::gateway {
namespace {

TEST(WorkerRoute, EveryThreadSharesTheServicesRateLimiter) {
  Fixture f(1, [](config::ServiceSpec& s) { s.rate_limit = config::RateLimitSpec{}; });
  ASSERT_NE(f.route()->rate_limiter(), nullptr);
  auto a = f.thread(1), b = f.thread(2);
  EXPECT_EQ(a->find("api")->rate_limiter(), f.route()->rate_limiter());
  EXPECT_EQ(b->find("api")->rate_limiter(), f.route()->rate_limiter());
  a->find("api")->stats().record_rate_limited();
  f.deliver();
  EXPECT_EQ(f.route()->stats().rate_limited(), 1u);
}

TEST(WorkerRoutes, AuthorityNamesOnlyServicesTheThreadKnows) {
  Fixture f(1);
  auto t = f.thread();
  EXPECT_EQ(service_from_authority("api.mesh:8000", *t), std::optional<std::string_view>("api"));
  EXPECT_EQ(service_from_authority("API", *t), std::optional<std::string_view>("api"));
  EXPECT_EQ(service_from_authority("other", *t), std::nullopt);
  WorkerRoutes direct(f.table);
  EXPECT_EQ(service_from_authority("api", direct), std::optional<std::string_view>("api"));
}

}  // namespace
}  // namespace meshd::gateway
