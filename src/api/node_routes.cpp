// GET /api/v1/nodes: the meshd nodes that share the catalog (a single node
// lists itself), with how many of the registry's instances each owns.

#include <map>

#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"

namespace meshd::api {

nlohmann::json nodes_view(const registry::CatalogBackend* catalog,
                          const registry::Registry& registry, std::int64_t now_ms) {
  std::map<std::string, int> owned;
  for (const auto& service : registry.services())
    for (const auto* r : registry.instances(service)) ++owned[r->node];
  nlohmann::json list = nlohmann::json::array();
  if (catalog) {
    for (const auto& n : catalog->nodes()) {
      auto count = owned.find(n.name);
      // This node answers the request, so it is seen now, whatever its
      // record in the catalog last said (stale or not).
      std::int64_t last_seen = n.self ? now_ms : n.last_seen_ms;
      list.push_back({{"name", n.name},
                      {"address", n.address},
                      {"api_address", n.api_address},
                      {"version", n.version},
                      {"state", n.state},
                      {"instances", count == owned.end() ? 0 : count->second},
                      {"last_seen", last_seen},
                      {"started_at", n.started_ms},
                      {"self", n.self}});
    }
  }
  return {{"nodes", std::move(list)},
          {"stale", catalog && catalog->stale()},
          {"clustered", catalog && catalog->clustered()}};
}

void register_node_routes(Router& router, ApiContext& ctx) {
  router.add("GET", "/api/v1/nodes",
             require_token(ctx, false, [&ctx](const Request&, const Params&, Respond respond) {
               auto now = core::to_unix_ms(ctx.scheduler->clock().wall_now());
               respond(json_response(200, nodes_view(ctx.catalog, *ctx.registry, now)));
             }));
}

}  // namespace meshd::api
