#include <limits>
#include <memory>

#include "meshd/api/declared_tests.hpp"
#include "meshd/api/event_history.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"

namespace meshd::api {
namespace {

using core::ErrorCode;

gateway::ServiceRoute* route_of(ApiContext& ctx, const std::string& service) {
  return ctx.routes ? ctx.routes->find(service).get() : nullptr;
}

Response unknown_service(const std::string& name) {
  return error_response(ErrorCode::not_found, "no service named '" + name + "'");
}

// The list is the API's hottest and largest answer (hundreds of KB with a
// few hundred services). Every state change publishes an event, so the
// event sequence is the cache key; traffic counters inside the views
// (requests in flight, latency) may be up to kListMaxAge old.
constexpr core::Duration kListMaxAge{100};

// GET /api/v1/services, serialised, with the event seq it reflects.
struct ServicesListCache {
  std::shared_ptr<const std::string> body;
  std::int64_t seq = -1;
  core::TimePoint built{};
};

void services_list(ApiContext& ctx, ServicesListCache& cache, Respond respond) {
  auto now = ctx.scheduler->clock().now();
  if (cache.body && cache.seq == ctx.events->last_seq() && now - cache.built < kListMaxAge) {
    Response r;
    r.shared_body = cache.body;
    return respond(std::move(r));
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : ctx.supervisor->services())
    list.push_back(service_view(*ctx.supervisor, *ctx.registry, *s, route_of(ctx, s->name()), now));
  // Services no file here declares (a registration's, other nodes').
  for (const auto& name : ctx.registry->services())
    if (!ctx.supervisor->find(name))
      list.push_back(catalog_service_view(*ctx.registry, name, route_of(ctx, name), now));
  Response r = json_response(200, {{"services", list}});
  cache.body = std::make_shared<const std::string>(std::move(r.body));
  r.shared_body = cache.body;
  cache.seq = ctx.events->last_seq();
  cache.built = now;
  respond(std::move(r));
}

void service_one(ApiContext& ctx, const std::string& name, Respond respond) {
  const auto* s = ctx.supervisor->find(name);
  if (!s && ctx.registry->has_service(name))
    return respond(json_response(200, catalog_service_view(*ctx.registry, name, route_of(ctx, name),
                                                           ctx.scheduler->clock().now())));
  if (!s) return respond(unknown_service(name));
  respond(json_response(200, service_view(*ctx.supervisor, *ctx.registry, *s,
                                          route_of(ctx, s->name()), ctx.scheduler->clock().now())));
}

// start|stop|restart: accepted at once (202); progress shows in the
// service's state and in the events.
void service_command(ApiContext& ctx, const std::string& name, const std::string& action,
                     Respond respond) {
  core::Status status = action == "start"  ? ctx.supervisor->start_service(name)
                        : action == "stop" ? ctx.supervisor->stop_service(name)
                                           : ctx.supervisor->restart_service(name);
  if (!status) return respond(error_response(status.error()));
  const auto* s = ctx.supervisor->find(name);
  respond(json_response(202, {{"service", name},
                              {"action", action},
                              {"accepted", true},
                              {"state", supervisor::to_string(s->state())}}));
}

void service_logs(ApiContext& ctx, const Request& req, const std::string& name, Respond respond) {
  const auto* s = ctx.supervisor->find(name);
  if (!s) return respond(unknown_service(name));
  long long tail = 100;
  if (auto it = req.query.find("tail"); it != req.query.end()) {
    auto v = parse_int(it->second, 1, 10000);
    if (!v)
      return respond(error_response(ErrorCode::invalid_argument,
                                    "'tail' must be a whole number from 1 to 10000"));
    tail = *v;
  }
  std::optional<supervisor::LogStream> stream;
  if (auto it = req.query.find("stream"); it != req.query.end()) {
    if (it->second == "stdout")
      stream = supervisor::LogStream::stdout_stream;
    else if (it->second == "stderr")
      stream = supervisor::LogStream::stderr_stream;
    else
      return respond(
          error_response(ErrorCode::invalid_argument, "'stream' must be stdout or stderr"));
  }
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line :
       s->logs()->tail(static_cast<std::size_t>(tail), stream ? &*stream : nullptr))
    lines.push_back({{"seq", line.seq},
                     {"time_ms", line.time_ms},
                     {"instance", line.instance},
                     {"stream", supervisor::to_string(line.stream)},
                     {"line", line.text}});
  respond(json_response(200, {{"service", name}, {"lines", lines}}));
}

void explain(ApiContext& ctx, const std::string& name, const std::string& id, Respond respond) {
  auto* s = ctx.supervisor->find(name);
  if (!s) return respond(unknown_service(name));
  const auto* r = ctx.registry->find(id);
  if (!r || r->service != name)
    return respond(error_response(ErrorCode::not_found,
                                  "service '" + name + "' has no instance '" + id + "'"));
  respond(json_response(200, explain_view(*ctx.supervisor, *ctx.registry, *s, *r,
                                          route_of(ctx, name), ctx.scheduler->clock().now())));
}

void events(ApiContext& ctx, const Request& req, Respond respond) {
  long long since = 0, limit = 100;
  if (auto it = req.query.find("since"); it != req.query.end()) {
    auto v = parse_int(it->second, 0, std::numeric_limits<long long>::max());
    if (!v)
      return respond(
          error_response(ErrorCode::invalid_argument, "'since' must be a whole number >= 0"));
    since = *v;
  }
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    auto v = parse_int(it->second, 1, 10000);
    if (!v)
      return respond(error_response(ErrorCode::invalid_argument,
                                    "'limit' must be a whole number from 1 to 10000"));
    limit = *v;
  }
  nlohmann::json list =
      event_history(*ctx.events, ctx.database, since, static_cast<std::size_t>(limit));
  respond(json_response(200, {{"events", list}, {"last_seq", ctx.events->last_seq()}}));
}

}  // namespace

void register_routes(Router& router, ApiContext& ctx, DeclaredTests& tests) {
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };

  auto health = read([&ctx](const Request&, const Params&, Respond respond) {
    respond(json_response(200, overall_health_view(*ctx.supervisor, *ctx.registry)));
  });
  router.add("GET", "/api/v1/health", health);
  router.add("GET", "/health/system", health);

  auto list = read([&ctx, cache = std::make_shared<ServicesListCache>()](
                       const Request&, const Params&, Respond respond) {
    services_list(ctx, *cache, std::move(respond));
  });
  router.add("GET", "/api/v1/services", list);
  router.add("GET", "/api/services/status", list);

  auto one = read([&ctx](const Request&, const Params& p, Respond respond) {
    service_one(ctx, p.at("name"), std::move(respond));
  });
  router.add("GET", "/api/v1/services/{name}", one);
  router.add("GET", "/health/service/{name}", one);

  for (std::string action : {"start", "stop", "restart"})
    router.add("POST", "/api/v1/services/{name}/" + action,
               write([&ctx, action](const Request&, const Params& p, Respond respond) {
                 service_command(ctx, p.at("name"), action, std::move(respond));
               }));
  router.add("POST", "/admin/restart-service/{name}",
             write([&ctx](const Request&, const Params& p, Respond respond) {
               service_command(ctx, p.at("name"), "restart", std::move(respond));
             }));

  register_rollout_routes(router, ctx);

  router.add("GET", "/api/v1/services/{name}/logs",
             read([&ctx](const Request& req, const Params& p, Respond respond) {
               service_logs(ctx, req, p.at("name"), std::move(respond));
             }));
  router.add("GET", "/api/v1/services/{name}/instances/{id}/explain",
             read([&ctx](const Request&, const Params& p, Respond respond) {
               explain(ctx, p.at("name"), p.at("id"), std::move(respond));
             }));
  router.add("GET", "/api/v1/events",
             read([&ctx](const Request& req, const Params&, Respond respond) {
               events(ctx, req, std::move(respond));
             }));
  // Declared tests (SPEC 7), through the gateway; the last run is kept
  // for the dashboard.
  router.add("POST", "/api/v1/tests/run",
             write([&ctx, &tests](const Request&, const Params&, Respond respond) {
               if (!tests.available())
                 return respond(error_response(
                     ErrorCode::unavailable,
                     "declared tests run through the gateway, and mesh.gateway is off"));
               tests.run(*ctx.config, [respond = std::move(respond)](const nlohmann::json& run) {
                 respond(json_response(200, run));
               });
             }));
  router.add("GET", "/api/v1/tests", read([&tests](const Request&, const Params&, Respond respond) {
               respond(json_response(200, tests.last_run()));
             }));
  router.add("GET", "/api/v1/version", [&ctx](const Request&, const Params&, Respond respond) {
    respond(json_response(200, {{"name", "meshd"}, {"version", ctx.version}}));
  });
}

}  // namespace meshd::api
