// The instance object of the service views in a cluster: every instance
// names its node, and another node's says so in its origin and state.

#include <gtest/gtest.h>

#include "meshd/api/views.hpp"

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

}  // namespace
}  // namespace meshd::api
