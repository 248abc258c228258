// The OpenAPI document: the nodes route with its body, and X-Mesh-Stale
// declared on every answer.

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

}  // namespace
}  // namespace meshd::api
