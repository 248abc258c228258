// A service's rollout (docs/api.md, "Rollouts"; docs/reload.md): what it
// is doing, and the operator's two decisions while canaries run.

#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"

namespace meshd::api {
namespace {

// The rollout as it is now: 200 with its object, or 404 for a service
// meshd does not run (a registration's has no rollout either).
Response rollout_answer(const ApiContext& ctx, const std::string& name) {
  const auto* service = ctx.supervisor->find(name);
  auto status = ctx.supervisor->rollout_status(name);
  if (!service || !status)
    return error_response(core::ErrorCode::not_found,
                          "no service named '" + name + "' that meshd runs");
  return json_response(200, rollout_view(name, *status, service->spec()));
}

}  // namespace

void register_rollout_routes(Router& router, ApiContext& ctx) {
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };

  router.add("GET", "/api/v1/services/{name}/rollout",
             read([&ctx](const Request&, const Params& p, Respond respond) {
               respond(rollout_answer(ctx, p.at("name")));
             }));
  // promote: the canaries' old instances drain and the rest rolls on.
  // abort: the new instances stop, the old ones keep serving, the rollout
  // ends reverted. Both answer with the rollout after the change; 409 when
  // there is nothing to promote or abort.
  for (std::string action : {"promote", "abort"})
    router.add("POST", "/api/v1/services/{name}/rollout/" + action,
               write([&ctx, action](const Request&, const Params& p, Respond respond) {
                 const auto& name = p.at("name");
                 auto status = action == "promote" ? ctx.supervisor->promote_rollout(name)
                                                   : ctx.supervisor->abort_rollout(name);
                 if (!status) return respond(error_response(status.error()));
                 respond(rollout_answer(ctx, name));
               }));
}

}  // namespace meshd::api
