// Blocking discover queries through the router, on a fake clock: parked
// queries that share a service, filter and index wait as one group.

#include <gtest/gtest.h>

#include "fakes/fake_scheduler.hpp"
#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  registry::Registry registry;
  ApiContext ctx;
  Router router;
  std::shared_ptr<const Discovery> discovery;
  double jitter = 0.5;  // what random01() gives the discover routes

  Fixture() {
    registry.set_services({"pg", "web"});
    add("pg-1", "pg");
    ctx.config = std::make_shared<config::Config>();
    ctx.registry = &registry;
    ctx.scheduler = &scheduler;
    discovery = register_registry_routes(router, ctx, [this] { return jitter; });
  }

  void add(const std::string& id, const std::string& service, std::vector<std::string> tags = {}) {
    registry::InstanceRecord r;
    r.id = id;
    r.service = service;
    r.address = "127.0.0.1";
    r.port = 5432;
    r.tags = std::move(tags);
    r.health = health::HealthStatus::passing;
    registry.upsert(r);
  }

  // One GET; `out` receives the answer whenever it comes. `hangup` lets the
  // test hang up as the HTTP server would.
  void get(const std::string& target, std::optional<Response>& out,
           std::shared_ptr<Hangup> hangup = nullptr) {
    Request req;
    req.method = "GET";
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) parse_query(target.substr(q + 1), req.query);
    req.hangup = std::move(hangup);
    router.dispatch(req, [&out](Response r) { out = std::move(r); });
  }

  std::string blocking(std::uint64_t index, const std::string& extra = "") {
    return "/api/v1/discover/pg?index=" + std::to_string(index) + "&wait=10s" + extra;
  }
};

std::string header(const Response& r, const std::string& name) {
  const auto& fields = r.prepared ? r.prepared->response.headers : r.headers;
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return "";
}

TEST(Discover, WatchersAtOneIndexWaitAsOneGroupAndWakeTogether) {
  Fixture f;
  auto index = f.registry.index("pg");
  std::optional<Response> a, b, c;
  f.get(f.blocking(index), a);
  f.get(f.blocking(index), b);
  f.get(f.blocking(index), c);
  EXPECT_FALSE(a || b || c);
  EXPECT_EQ(parked_queries(*f.discovery), 3u);
  EXPECT_EQ(f.registry.watchers(), 1u);  // one registry watch for the three

  f.add("pg-2", "pg");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->status, 200);
  ASSERT_TRUE(a->prepared);
  EXPECT_EQ(a->prepared, b->prepared);  // one answer, serialised once
  EXPECT_EQ(a->prepared, c->prepared);
  EXPECT_EQ(header(*a, "X-Mesh-Index"), std::to_string(f.registry.index("pg")));
  EXPECT_NE(a->body_text().find("\"pg-2\""), std::string::npos);
  EXPECT_NE(a->prepared->wire.find("X-Mesh-Index: " + std::to_string(f.registry.index("pg"))),
            std::string::npos);
  EXPECT_EQ(parked_queries(*f.discovery), 0u);
  EXPECT_EQ(f.registry.watchers(), 0u);
  f.scheduler.advance(20s);  // the wait timers were cancelled: nothing answers twice
  EXPECT_EQ(f.scheduler.pending(), 0u);
}

TEST(Discover, AChangeToAnotherServiceWakesNobody) {
  Fixture f;
  std::optional<Response> a;
  f.get(f.blocking(f.registry.index("pg")), a);
  f.add("web-1", "web");
  EXPECT_FALSE(a);
  EXPECT_EQ(parked_queries(*f.discovery), 1u);
}

TEST(Discover, WatchersOfAnotherFilterAreTheirOwnGroup) {
  Fixture f;
  auto index = f.registry.index("pg");
  std::optional<Response> all, tagged;
  f.get(f.blocking(index), all);
  f.get(f.blocking(index, "&tag=primary"), tagged);
  EXPECT_EQ(f.registry.watchers(), 2u);
  f.add("pg-2", "pg", {"primary"});
  ASSERT_TRUE(all && tagged);
  EXPECT_NE(all->prepared, tagged->prepared);
  EXPECT_NE(tagged->body_text().find("\"pg-2\""), std::string::npos);
  EXPECT_EQ(tagged->body_text().find("\"pg-1\""), std::string::npos);  // untagged
  EXPECT_NE(all->body_text().find("\"pg-1\""), std::string::npos);
}

// An index from before a restart of meshd (ahead of today's) is answered at
// once, so that the client starts again from the current one.
TEST(Discover, AnIndexAheadOfTheServicesIsAnsweredAtOnce) {
  Fixture f;
  auto index = f.registry.index("pg");
  std::optional<Response> ahead, behind;
  f.get(f.blocking(index + 1000), ahead);
  f.get(f.blocking(index - 1), behind);
  ASSERT_TRUE(ahead && behind);
  EXPECT_EQ(header(*ahead, "X-Mesh-Index"), std::to_string(index));
  EXPECT_EQ(header(*behind, "X-Mesh-Index"), std::to_string(index));
  EXPECT_EQ(parked_queries(*f.discovery), 0u);
}

TEST(Discover, AClientThatHangsUpLeavesItsGroupAndTheLastOneEndsIt) {
  Fixture f;
  auto index = f.registry.index("pg");
  auto h1 = std::make_shared<Hangup>(), h2 = std::make_shared<Hangup>();
  std::optional<Response> a, b, c;
  f.get(f.blocking(index), a, h1);
  f.get(f.blocking(index), b, h2);
  f.get(f.blocking(index), c);
  h1->fire();
  EXPECT_EQ(parked_queries(*f.discovery), 2u);
  f.add("pg-2", "pg");
  EXPECT_FALSE(a);  // gone: not answered
  EXPECT_TRUE(b && c);
  h2->fire();  // after the answer: nothing happens
  EXPECT_EQ(parked_queries(*f.discovery), 0u);

  // Everybody hangs up: the group and its registry watch go too.
  std::optional<Response> d, e;
  auto h3 = std::make_shared<Hangup>(), h4 = std::make_shared<Hangup>();
  f.get(f.blocking(f.registry.index("pg")), d, h3);
  f.get(f.blocking(f.registry.index("pg")), e, h4);
  EXPECT_EQ(f.registry.watchers(), 1u);
  h3->fire();
  h4->fire();
  EXPECT_EQ(f.registry.watchers(), 0u);
  EXPECT_EQ(parked_queries(*f.discovery), 0u);
  EXPECT_EQ(f.scheduler.pending(), 0u);  // their wait timers too
  f.add("pg-3", "pg");
  EXPECT_FALSE(d || e);
}

TEST(Discover, TheWaitEndsWithTheAnswerAsItIsPlusJitter) {
  Fixture f;
  auto index = f.registry.index("pg");
  std::optional<Response> a;
  f.get(f.blocking(index), a);  // wait=10s; jitter 0.5 * 10s / 16 = 312ms
  f.scheduler.advance(10s);
  EXPECT_FALSE(a);
  f.scheduler.advance(400ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(header(*a, "X-Mesh-Index"), std::to_string(index));
  EXPECT_EQ(parked_queries(*f.discovery), 0u);
  EXPECT_EQ(f.registry.watchers(), 0u);
}

// Clients whose waits end on a quiet service ask again with the same index
// and join the same group; those that left are dropped, and a change still
// answers everybody who waits.
TEST(Discover, WatchersThatTimeOutAndAskAgainKeepOneGroup) {
  Fixture f;
  auto index = f.registry.index("pg");
  std::vector<std::optional<Response>> answers(300);
  std::optional<Response> steady;
  f.jitter = 0.0;
  f.get("/api/v1/discover/pg?index=" + std::to_string(index) + "&wait=1h", steady);  // capped at 5m
  for (int round = 0; round < 3; ++round) {
    for (auto& a : answers) {
      a.reset();
      f.get(f.blocking(index), a);
    }
    f.scheduler.advance(10s);
    for (const auto& a : answers) ASSERT_TRUE(a);
    EXPECT_EQ(parked_queries(*f.discovery), 1u);
  }
  EXPECT_FALSE(steady);
  EXPECT_EQ(f.registry.watchers(), 1u);
  f.add("pg-2", "pg");
  ASSERT_TRUE(steady);
  EXPECT_NE(steady->body_text().find("\"pg-2\""), std::string::npos);
}

nlohmann::json body_of(const std::optional<Response>& r) {
  return nlohmann::json::parse(r->body_text());
}

// Bodies are put together from per-instance parts cached by revision: every
// change of one instance (health, overrides, removal) must show at once.
TEST(Discover, TheBodyFollowsEveryChangeOfEachInstance) {
  Fixture f;
  f.add("pg-2", "pg", {"primary", "quo\"ted"});
  std::optional<Response> r;
  f.get("/api/v1/discover/pg", r);
  auto body = body_of(r);
  EXPECT_EQ(body["service"], "pg");
  EXPECT_EQ(body["index"], f.registry.index("pg"));
  ASSERT_EQ(body["instances"].size(), 2u);
  EXPECT_EQ(body["instances"][1],
            nlohmann::json({{"id", "pg-2"},
                            {"service", "pg"},
                            {"address", "127.0.0.1"},
                            {"port", 5432},
                            {"tags", {"primary", "quo\"ted"}},
                            {"metadata", nlohmann::json::object()},
                            {"weight", 1},
                            {"health", "passing"},
                            {"origin", "managed"},
                            {"node", ""},
                            {"in_rotation", false}}));  // managed, no process: not in rotation

  auto critical = *f.registry.find("pg-2");
  critical.origin = registry::Origin::registered;
  critical.health = health::HealthStatus::critical;
  f.registry.upsert(critical);
  f.get("/api/v1/discover/pg", r);
  body = body_of(r);
  EXPECT_EQ(body["instances"][1]["health"], "critical");
  EXPECT_EQ(body["instances"][1]["origin"], "registered");
  auto passing = *f.registry.find("pg-1");
  passing.origin = registry::Origin::registered;
  f.registry.upsert(passing);
  f.get("/api/v1/discover/pg?passing=true", r);
  body = body_of(r);
  ASSERT_EQ(body["instances"].size(), 1u);
  EXPECT_EQ(body["instances"][0]["id"], "pg-1");
  EXPECT_EQ(body["instances"][0]["in_rotation"], true);

  f.registry.set_overrides("pg-1", registry::Overrides{true, false, ""});
  f.get("/api/v1/discover/pg?passing=true", r);
  EXPECT_TRUE(body_of(r)["instances"].empty());
  f.get("/api/v1/discover/pg", r);
  EXPECT_EQ(body_of(r)["instances"][0]["in_rotation"], false);

  f.registry.remove("pg-2");
  f.get("/api/v1/discover/pg?tag=primary", r);
  EXPECT_TRUE(body_of(r)["instances"].empty());
  f.get("/api/v1/discover/pg", r);
  body = body_of(r);
  ASSERT_EQ(body["instances"].size(), 1u);
  EXPECT_EQ(body["index"], f.registry.index("pg"));
}

TEST(Discover, BadQueriesAreRefusedAndParkNothing) {
  Fixture f;
  for (std::string q : {"index=x", "index=-1", "wait=soon", "passing=maybe"}) {
    std::optional<Response> r;
    f.get("/api/v1/discover/pg?" + q, r);
    ASSERT_TRUE(r) << q;
    EXPECT_EQ(r->status, 400) << q;
  }
  std::optional<Response> r;
  f.get("/api/v1/discover/nope?index=1", r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(parked_queries(*f.discovery), 0u);
  EXPECT_EQ(f.registry.watchers(), 0u);
}

// The discover state belongs to its routes: when they go (meshd shutting
// down), the queries parked there leave no registry watch and no timer.
TEST(Discover, RoutesThatGoTakeTheirWatchesAndTimersWithThem) {
  Fixture f;
  std::optional<Response> answer;
  {
    Router router;
    auto discovery = register_registry_routes(router, f.ctx, [] { return 0.5; });
    Request req;
    req.method = "GET";
    req.path = "/api/v1/discover/pg";
    req.query = {{"index", std::to_string(f.registry.index("pg"))}, {"wait", "10s"}};
    router.dispatch(req, [&answer](Response r) { answer = std::move(r); });
    EXPECT_EQ(parked_queries(*discovery), 1u);
    EXPECT_EQ(f.registry.watchers(), 1u);
    EXPECT_EQ(f.scheduler.pending(), 1u);  // its wait
  }
  EXPECT_EQ(f.registry.watchers(), 0u);
  EXPECT_EQ(f.scheduler.pending(), 0u);
  f.add("pg-2", "pg");
  f.scheduler.advance(20s);
  EXPECT_FALSE(answer);
}

}  // namespace
}  // namespace meshd::api
