// The instance object of the service views in a cluster: every instance
// names its node, and another node's says so in its origin and state; with
// a route, its traffic (what the dashboard compares canaries by).

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"
#include "meshd/api/views.hpp"
#include "meshd/gateway/route_table.hpp"

namespace meshd::api {
namespace {

registry::InstanceRecord remote(const std::string& remote_origin, const std::string& state) {
  registry::InstanceRecord r;
  r.id = "pg-0@cpu-box";
  r.service = "pg";
  r.address = "10.0.0.6";
  r.port = 5432;
  r.node = "cpu-box";
  r.origin = registry::Origin::remote;
  r.remote_origin = remote_origin;
  r.process_state = state;
  r.health = health::HealthStatus::passing;
  return r;
}

TEST(InstanceView, AnotherNodesInstanceShowsItsNodeOriginAndState) {
  auto managed = instance_view(remote("managed", "running"), {}, nullptr);
  EXPECT_EQ(managed["node"], "cpu-box");
  EXPECT_EQ(managed["origin"], "remote");
  EXPECT_EQ(managed["remote_origin"], "managed");
  EXPECT_EQ(managed["state"], "running");
  EXPECT_EQ(managed["in_rotation"], true);

  auto backoff = instance_view(remote("managed", "backoff"), {}, nullptr);
  EXPECT_EQ(backoff["state"], "backoff");

  EXPECT_EQ(instance_view(remote("registered", ""), {}, nullptr)["state"], "registered");
  EXPECT_EQ(instance_view(remote("external", ""), {}, nullptr)["state"], "running");
}

TEST(InstanceView, ALocalInstanceNamesThisNodeAndHasNoRemoteOrigin) {
  registry::InstanceRecord r;
  r.id = "pg-1";
  r.service = "pg";
  r.node = "gpu-box";
  r.origin = registry::Origin::registered;
  auto v = instance_view(r, {}, nullptr);
  EXPECT_EQ(v["node"], "gpu-box");
  EXPECT_EQ(v["origin"], "registered");
  EXPECT_EQ(v["state"], "registered");
  EXPECT_FALSE(v.contains("remote_origin"));
}

// A rollout's canary is judged against the old instances by these: calls,
// failures and latency through the gateway, per instance.
TEST(InstanceView, WithARouteAnInstanceCountsItsCallsFailuresAndLatency) {
  using namespace std::chrono_literals;
  testing::FakeClock clock;
  core::EventBus events{clock};
  registry::Registry registry;
  auto cfg = std::make_shared<config::Config>();
  config::ServiceSpec spec;
  spec.name = "api";
  spec.addresses.resize(1);
  spec.outlier_detection.consecutive_failures = 100;
  cfg->services.push_back(spec);
  registry.set_services({"api"});
  registry::InstanceRecord r;
  r.id = "api-0";
  r.service = "api";
  r.address = "127.0.0.1";
  r.port = 9000;
  r.origin = registry::Origin::registered;
  r.health = health::HealthStatus::passing;
  registry.upsert(r);
  gateway::RouteTable table{&events, 7};
  table.set_config(cfg);
  auto route = table.find("api");
  route->update(registry, clock.now());

  auto before = instance_view(r, {}, nullptr, route.get(), clock.now());
  EXPECT_EQ(before["requests"], 0);
  EXPECT_EQ(before["errors"], 0);
  EXPECT_TRUE(before["latency_ms"].is_null());
  route->on_result("api-0", gateway::Outcome::success, 20ms, clock.now());
  route->on_result("api-0", gateway::Outcome::success, 20ms, clock.now());
  route->on_result("api-0", gateway::Outcome::http_5xx, 20ms, clock.now());
  route->on_result("api-0", gateway::Outcome::cancelled, 20ms, clock.now());  // no verdict
  auto after = instance_view(r, {}, nullptr, route.get(), clock.now());
  EXPECT_EQ(after["requests"], 3);
  EXPECT_EQ(after["errors"], 1);
  EXPECT_EQ(after["latency_ms"], 20.0);
}

}  // namespace
}  // namespace meshd::api
