#include "cluster/catalog_records.hpp"

#include <gtest/gtest.h>

namespace meshd::cluster {
namespace {

TEST(CatalogRecords, KeysAreReadBackAndAnythingElseIsForeign) {
  auto k = parse_key("/meshd/", instance_key("/meshd/", "gpu-box", "api-0"));
  EXPECT_EQ(k.kind, CatalogKey::Kind::instance);
  EXPECT_EQ(k.node, "gpu-box");
  EXPECT_EQ(k.id, "api-0");
  EXPECT_EQ(parse_key("/meshd/", node_key("/meshd/", "a")).kind, CatalogKey::Kind::node);
  EXPECT_EQ(parse_key("/meshd/", registration_key("/meshd/", "pg-1")).id, "pg-1");
  auto o = parse_key("/meshd/", overrides_key("/meshd/", "api-0@a"));
  EXPECT_EQ(o.kind, CatalogKey::Kind::overrides);
  EXPECT_EQ(o.node, "a");
  EXPECT_EQ(parse_key("/meshd/", "/meshd/singleton/db/694d").kind, CatalogKey::Kind::singleton);
  for (const char* bad : {"/meshd/x", "/meshd/nodes/", "/meshd/instances/a", "/meshd/instances/a/",
                          "/meshd/instances/a/b/c", "/meshd/overrides/noat", "/meshd/what/x",
                          "/other/nodes/a", "/meshd/instances/a/x@y"})
    EXPECT_EQ(parse_key("/meshd/", bad).kind, CatalogKey::Kind::foreign) << bad;
}

TEST(CatalogRecords, AnInstanceRoundTripsAsARemoteRecord) {
  registry::InstanceRecord r;
  r.id = "api-0";
  r.service = "api";
  r.address = "localhost";
  r.port = 8080;
  r.origin = registry::Origin::managed;
  r.tags = {"gpu"};
  r.metadata = {{"zone", "a"}};
  r.weight = 3;
  r.health = health::HealthStatus::warning;
  r.health_output = "slow";
  r.pid = 42;
  r.process_state = "running";
  auto text = encode_instance(r, "10.0.0.5");
  auto back = decode_instance("gpu", "api-0", text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, "api-0@gpu");
  EXPECT_EQ(back->address, "10.0.0.5");
  EXPECT_EQ(back->origin, registry::Origin::remote);
  EXPECT_EQ(back->remote_origin, "managed");
  EXPECT_EQ(back->tags, r.tags);
  EXPECT_EQ(back->metadata, r.metadata);
  EXPECT_EQ(back->weight, 3);
  EXPECT_EQ(back->health, health::HealthStatus::warning);
  EXPECT_TRUE(back->healthy());
  // Check output and pids are not published: they would cost a write
  // each without changing what discovery shows.
  r.health_output = "slower";
  r.pid = 43;
  EXPECT_EQ(encode_instance(r, "10.0.0.5"), text);
  // A routable address is published as it is.
  r.address = "192.168.1.9";
  EXPECT_EQ(decode_instance("gpu", "api-0", encode_instance(r, "10.0.0.5"))->address,
            "192.168.1.9");
}

TEST(CatalogRecords, MalformedInstancesAreRejected) {
  for (const char* bad :
       {"", "[]", "{}", R"({"id":"x","service":"api","address":"h","port":1})",
        R"({"id":"api-0","service":"api","address":"h","port":70000})",
        R"({"id":"api-0","service":"api","address":"h","port":"1"})",
        R"({"id":"api-0","service":"api","address":"h","port":1,"health":"great"})",
        R"({"id":"api-0","service":"","address":"h","port":1})"})
    EXPECT_FALSE(decode_instance("n", "api-0", bad)) << bad;
}

TEST(CatalogRecords, NodeRecordsAndQualifiedIds) {
  NodeValue v;
  v.record.name = "a";
  v.record.address = "10.0.0.1";
  v.record.api_address = "10.0.0.1:8090";
  v.incarnation = "abc";
  auto back = decode_node("a", encode_node(v));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->record.api_address, "10.0.0.1:8090");
  EXPECT_EQ(back->incarnation, "abc");
  EXPECT_FALSE(back->leaving);
  EXPECT_FALSE(decode_node("b", encode_node(v)));  // stored under another name
  EXPECT_EQ(qualify("api-0", "a"), "api-0@a");
  EXPECT_EQ(qualify("api-0@b", "a"), "api-0@b");
  EXPECT_EQ(unqualify("api-0@a", "a"), "api-0");
  EXPECT_EQ(unqualify("api-0@b", "a"), "api-0@b");
}

}  // namespace
}  // namespace meshd::cluster
