// The OpenAPI document: the nodes route with its body, X-Mesh-Stale
// declared on every answer, and the rollout routes.

#include "meshd/api/openapi.hpp"

#include <gtest/gtest.h>

#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

TEST(OpenApi, DocumentsTheNodesRouteAndTheStaleHeader) {
  Router router;
  ApiContext ctx;
  register_node_routes(router, ctx);
  router.add("GET", "/api/v1/discover/{service}", [](const Request&, const Params&, Respond) {});
  auto doc = openapi_document(router, "1.2.3");

  const auto& nodes = doc["paths"]["/api/v1/nodes"]["get"];
  EXPECT_EQ(nodes["tags"][0], "cluster");
  EXPECT_EQ(nodes["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Nodes");
  const auto& schema = doc["components"]["schemas"]["Nodes"]["properties"];
  for (const char* field : {"nodes", "stale", "clustered"})
    EXPECT_TRUE(schema.contains(field)) << field;
  const auto& node = schema["nodes"]["items"]["properties"];
  for (const char* field : {"name", "address", "api_address", "version", "state", "instances",
                            "last_seen", "started_at", "self"})
    EXPECT_TRUE(node.contains(field)) << field;

  EXPECT_TRUE(doc["components"]["headers"].contains("X-Mesh-Stale"));
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items())
      EXPECT_EQ(op["responses"]["200"]["headers"]["X-Mesh-Stale"]["$ref"],
                "#/components/headers/X-Mesh-Stale")
          << method << " " << path;
}

TEST(OpenApi, DocumentsTheRolloutRoutesAndTheirTokenRule) {
  Router router;
  ApiContext ctx;
  register_rollout_routes(router, ctx);
  auto doc = openapi_document(router, "1.2.3");
  const auto& paths = doc["paths"];
  ASSERT_TRUE(paths.contains("/api/v1/services/{name}/rollout"));
  EXPECT_NE(paths["/api/v1/services/{name}/rollout"]["get"]["summary"], "undocumented");
  EXPECT_FALSE(paths["/api/v1/services/{name}/rollout"]["get"].contains("security"));
  for (const char* action : {"promote", "abort"}) {
    const auto& op = paths[std::string("/api/v1/services/{name}/rollout/") + action]["post"];
    EXPECT_EQ(op["tags"][0], "services") << action;
    EXPECT_NE(op["summary"], "undocumented") << action;
    EXPECT_EQ(op["security"][0].count("bearer"), 1u) << action;
  }
}

}  // namespace
}  // namespace meshd::api
