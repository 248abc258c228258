#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

using core::ErrorCode;

nlohmann::json breaker_view(gateway::ServiceRoute& route, const std::string& id,
                            core::TimePoint now, const core::TimeSource& clock) {
  auto* b = route.breaker(id);
  auto stats = b->stats(now);
  nlohmann::json j = {{"service", route.spec().name},
                      {"instance", id},
                      {"state", breaker::to_string(stats.state)},
                      {"calls", stats.window.calls},
                      {"failures", stats.window.failures},
                      {"slow_calls", stats.window.slow_calls},
                      {"failure_rate", stats.window.failure_rate()},
                      {"slow_call_rate", stats.window.slow_call_rate()},
                      {"consecutive_opens", stats.consecutive_opens}};
  if (stats.open_until) {
    auto wall = clock.wall_now() +
                std::chrono::duration_cast<core::WallTime::duration>(*stats.open_until - now);
    j["open_until_ms"] = core::to_unix_ms(wall);
  } else {
    j["open_until_ms"] = nullptr;
  }
  if (auto until = route.outlier().ejected_until(id); until && *until > now)
    j["ejected_until_ms"] = core::to_unix_ms(
        clock.wall_now() + std::chrono::duration_cast<core::WallTime::duration>(*until - now));
  j["times_ejected"] = route.outlier().times_ejected(id);
  return j;
}

void resolve(ApiContext& ctx, const std::string& service, Respond respond) {
  auto route = ctx.routes->find(service);
  if (!route)
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  auto pick = route->peek(balancer::PickContext{ctx.scheduler->clock().now(), std::nullopt});
  if (!pick) return respond(error_response(pick.error()));
  const auto& h = *pick->host;
  const auto* record = ctx.registry ? ctx.registry->find(h.id) : nullptr;
  std::string node = record ? record->node : std::string();
  // "stale": the pick is from the last catalog known (the cluster's etcd
  // cannot be reached), as in discover's answers.
  respond(json_response(200, {{"service", service},
                              {"instance",
                               {{"id", h.id},
                                {"address", h.address},
                                {"port", h.port},
                                {"weight", h.weight},
                                {"node", node}}},
                              {"panic", pick->panic},
                              {"stale", ctx.catalog != nullptr && ctx.catalog->stale()}}));
}

void report(ApiContext& ctx, const Request& req, Respond respond) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return respond(error_response(ErrorCode::invalid_argument, "the body must be a JSON object"));
  for (auto it = body.begin(); it != body.end(); ++it)
    if (it.key() != "service" && it.key() != "instance" && it.key() != "ok" &&
        it.key() != "latency_ms")
      return respond(
          error_response(ErrorCode::invalid_argument, "unknown field '" + it.key() + "'"));
  if (!body.contains("service") || !body["service"].is_string())
    return respond(error_response(ErrorCode::invalid_argument, "'service' is required (a string)"));
  if (!body.contains("instance") || !body["instance"].is_string())
    return respond(
        error_response(ErrorCode::invalid_argument, "'instance' is required (a string)"));
  if (!body.contains("ok") || !body["ok"].is_boolean())
    return respond(error_response(ErrorCode::invalid_argument, "'ok' is required (true or false)"));
  double latency = 0;
  if (body.contains("latency_ms")) {
    if (!body["latency_ms"].is_number() || body["latency_ms"].get<double>() < 0 ||
        body["latency_ms"].get<double>() > 3.6e6)
      return respond(error_response(ErrorCode::invalid_argument,
                                    "'latency_ms' must be a number from 0 to 3600000"));
    latency = body["latency_ms"].get<double>();
  }
  std::string service = body["service"], id = body["instance"];
  auto route = ctx.routes->find(service);
  if (!route)
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  if (!route->breaker(id))
    return respond(error_response(ErrorCode::not_found,
                                  "service '" + service + "' has no instance '" + id + "'"));
  auto now = ctx.scheduler->clock().now();
  route->on_result(id,
                   body["ok"].get<bool>() ? gateway::Outcome::success : gateway::Outcome::http_5xx,
                   std::chrono::microseconds(static_cast<long long>(latency * 1000)), now, false);
  respond(json_response(200, breaker_view(*route, id, now, ctx.scheduler->clock())));
}

void breakers(ApiContext& ctx, Respond respond) {
  auto now = ctx.scheduler->clock().now();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, route] : ctx.routes->routes())
    for (const auto& id : route->host_ids())
      list.push_back(breaker_view(*route, id, now, ctx.scheduler->clock()));
  respond(json_response(200, {{"breakers", list}}));
}

void breaker_command(ApiContext& ctx, const std::string& service, const std::string& id,
                     const std::string& action, Respond respond) {
  auto route = ctx.routes->find(service);
  if (!route)
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  auto* b = route->breaker(id);
  if (!b)
    return respond(error_response(ErrorCode::not_found,
                                  "service '" + service + "' has no instance '" + id + "'"));
  if (action == "open")
    b->force_open();
  else if (action == "close")
    b->close();
  else
    b->reset();
  ctx.events->publish("breaker.command", service, id, id + ": breaker " + action + " by operator",
                      {{"command", action}});
  auto now = ctx.scheduler->clock().now();
  respond(json_response(200, breaker_view(*route, id, now, ctx.scheduler->clock())));
}

}  // namespace

void register_traffic_routes(Router& router, ApiContext& ctx) {
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };
  router.add("GET", "/api/v1/resolve/{service}",
             read([&ctx](const Request&, const Params& p, Respond respond) {
               resolve(ctx, p.at("service"), std::move(respond));
             }));
  // A report is a read-side signal from a client of the mesh, not an
  // administrative act: it follows the read rule for the token.
  router.add("POST", "/api/v1/report",
             read([&ctx](const Request& req, const Params&, Respond respond) {
               report(ctx, req, std::move(respond));
             }));
  auto list = read([&ctx](const Request&, const Params&, Respond respond) {
    breakers(ctx, std::move(respond));
  });
  router.add("GET", "/api/v1/breakers", list);
  router.add("GET", "/health/circuit-breakers", list);
  for (std::string action : {"open", "close", "reset"})
    router.add("POST", "/api/v1/breakers/{service}/{instance}/" + action,
               write([&ctx, action](const Request&, const Params& p, Respond respond) {
                 breaker_command(ctx, p.at("service"), p.at("instance"), action,
                                 std::move(respond));
               }));
}

}  // namespace meshd::api
