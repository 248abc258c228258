// The cluster as the REST routes show it, with a fake catalog of two
// nodes: GET /api/v1/nodes, "node" and "stale" in discover's answers, and
// the refusal of what only another node can do to its own instance.

#include <gtest/gtest.h>

#include "fakes/fake_catalog.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

using nlohmann::json;

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  registry::Registry registry;
  testing::FakeCatalog catalog;
  ApiContext ctx;
  Router router;

  Fixture() {
    registry.set_services({"pg", "web"});
    add("pg-1", "pg", "gpu-box");
    add("pg-1@cpu-box", "pg", "cpu-box", "managed");
    add("web-1@cpu-box", "web", "cpu-box", "external");
    ctx.config = std::make_shared<config::Config>();
    ctx.registry = &registry;
    ctx.scheduler = &scheduler;
    ctx.catalog = &catalog;
    register_registry_routes(router, ctx, [] { return 0.5; });
    register_node_routes(router, ctx);
  }

  // A local instance when `remote_origin` is empty, else the owner's.
  void add(const std::string& id, const std::string& service, const std::string& node,
           const std::string& remote_origin = "") {
    registry::InstanceRecord r;
    r.id = id;
    r.service = service;
    r.address = "127.0.0.1";
    r.port = 5432;
    r.node = node;
    r.origin = remote_origin.empty() ? registry::Origin::registered : registry::Origin::remote;
    r.remote_origin = remote_origin;
    r.health = health::HealthStatus::passing;
    registry.upsert(r);
  }

  Response call(const std::string& method, const std::string& path) {
    Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    std::optional<Response> out;
    router.dispatch(req, [&out](Response r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << method << " " << path;
    return out ? std::move(*out) : Response{};
  }
  json body(const Response& r) { return json::parse(r.body_text()); }
};

TEST(NodesRoute, ListsEveryNodeWithItsInstanceCount) {
  Fixture f;
  auto r = f.call("GET", "/api/v1/nodes");
  ASSERT_EQ(r.status, 200);
  auto b = f.body(r);
  EXPECT_EQ(b["stale"], false);
  EXPECT_EQ(b["clustered"], true);
  ASSERT_EQ(b["nodes"].size(), 2u);
  const auto& self = b["nodes"][0];
  EXPECT_EQ(self["name"], "gpu-box");
  EXPECT_EQ(self["self"], true);
  EXPECT_EQ(self["address"], "10.0.0.5");
  EXPECT_EQ(self["api_address"], "10.0.0.5:9700");
  EXPECT_EQ(self["version"], "1.2.3");
  EXPECT_EQ(self["state"], "alive");
  EXPECT_EQ(self["instances"], 1);
  EXPECT_EQ(self["started_at"], 1'700'000'000'000);
  EXPECT_EQ(self["last_seen"], core::to_unix_ms(f.clock.wall_now()));  // answering now
  const auto& other = b["nodes"][1];
  EXPECT_EQ(other["name"], "cpu-box");
  EXPECT_EQ(other["self"], false);
  EXPECT_EQ(other["instances"], 2);
  EXPECT_EQ(other["last_seen"], 1'700'000'090'000);
}

TEST(NodesRoute, ALostNodeAndAStaleCatalogShow) {
  Fixture f;
  f.catalog.node_list[1].state = "lost";
  f.catalog.is_stale = true;
  auto b = f.body(f.call("GET", "/api/v1/nodes"));
  EXPECT_EQ(b["stale"], true);
  EXPECT_EQ(b["nodes"][1]["state"], "lost");
  f.catalog.is_stale = false;
  EXPECT_EQ(f.body(f.call("GET", "/api/v1/nodes"))["stale"], false);
}

TEST(NodesRoute, ASingleNodeIsNotClustered) {
  Fixture f;
  registry::NodeRecord only;  // what the SQLite backend knows of itself
  only.name = "gpu-box";
  only.self = true;
  f.catalog.node_list = {only};
  f.catalog.is_clustered = false;
  auto b = f.body(f.call("GET", "/api/v1/nodes"));
  EXPECT_EQ(b["clustered"], false);
  ASSERT_EQ(b["nodes"].size(), 1u);
  EXPECT_EQ(b["nodes"][0]["last_seen"], core::to_unix_ms(f.clock.wall_now()));
  EXPECT_EQ(b["nodes"][0]["instances"], 1);
}

TEST(DiscoverInCluster, InstancesNameTheirNodeAndTheAnswerSaysWhetherItIsStale) {
  Fixture f;
  auto fresh = f.call("GET", "/api/v1/discover/pg");
  ASSERT_EQ(fresh.status, 200);
  auto b = f.body(fresh);
  EXPECT_EQ(b["stale"], false);
  ASSERT_EQ(b["instances"].size(), 2u);
  EXPECT_EQ(b["instances"][0]["node"], "gpu-box");
  EXPECT_EQ(b["instances"][1]["id"], "pg-1@cpu-box");
  EXPECT_EQ(b["instances"][1]["node"], "cpu-box");
  EXPECT_EQ(b["instances"][1]["origin"], "remote");
  auto index = b["index"];

  // Staleness does not move the index; the answer changes all the same.
  f.catalog.is_stale = true;
  auto stale = f.body(f.call("GET", "/api/v1/discover/pg"));
  EXPECT_EQ(stale["stale"], true);
  EXPECT_EQ(stale["index"], index);
  f.catalog.is_stale = false;
  EXPECT_EQ(f.body(f.call("GET", "/api/v1/discover/pg"))["stale"], false);
}

TEST(RemoteInstances, ATtlPassForAnotherNodesInstanceNamesThatNode) {
  Fixture f;
  auto r = f.call("PUT", "/api/v1/registry/pg/pg-1@cpu-box/ttl");
  EXPECT_EQ(r.status, 409);
  auto message = f.body(r)["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("node 'cpu-box'"), std::string::npos) << message;
  EXPECT_NE(message.find("10.0.0.6:9700"), std::string::npos) << message;
}

TEST(RemoteInstances, AnotherNodesFileInstanceCannotBeDeregisteredHere) {
  Fixture f;
  auto r = f.call("DELETE", "/api/v1/registry/web/web-1@cpu-box");
  EXPECT_EQ(r.status, 409);
  auto message = f.body(r)["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("node 'cpu-box'"), std::string::npos) << message;
  EXPECT_NE(f.registry.find("web-1@cpu-box"), nullptr);
}

TEST(ResolveInCluster, ThePickNamesItsNodeAndSaysWhetherItIsStale) {
  Fixture f;
  // Only the other node's instance (its process running there) is left.
  f.registry.remove("pg-1");
  auto remote = *f.registry.find("pg-1@cpu-box");
  remote.process_state = "running";
  f.registry.upsert(remote);
  auto cfg = std::make_shared<config::Config>();
  config::ServiceSpec pg;
  pg.name = "pg";
  cfg->services.push_back(pg);
  core::EventBus events{f.clock};
  gateway::RouteTable table{&events, 7};
  table.set_config(cfg);
  table.find("pg")->update(f.registry, f.clock.now());
  f.ctx.routes = &table;
  register_traffic_routes(f.router, f.ctx);

  auto r = f.call("GET", "/api/v1/resolve/pg");
  ASSERT_EQ(r.status, 200) << r.body_text();
  auto b = f.body(r);
  EXPECT_EQ(b["instance"]["id"], "pg-1@cpu-box");
  EXPECT_EQ(b["instance"]["node"], "cpu-box");
  EXPECT_EQ(b["stale"], false);
  f.catalog.is_stale = true;
  EXPECT_EQ(f.body(f.call("GET", "/api/v1/resolve/pg"))["stale"], true);
}

}  // namespace
}  // namespace meshd::api
