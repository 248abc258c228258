// Discovery, registration, TTL heartbeats and instance overrides: the
// handlers. The discover answers are in discover_cache.cpp, the blocking
// queries in discover_watches.cpp.

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "discover_cache.hpp"
#include "discover_watches.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"
#include "meshd/config/values.hpp"
#include "meshd/registry/overrides_codec.hpp"

namespace meshd::api {

/// GET /api/v1/discover's state, owned by its routes: the answers and the
/// queries parked on them.
class Discovery {
 public:
  Discovery(registry::Registry& registry, core::Scheduler& scheduler,
            std::function<double()> random01)
      : cache(registry), watches(registry, scheduler, cache, std::move(random01)) {}
  DiscoverCache cache;
  DiscoverWatches watches;
};

namespace {

using core::ErrorCode;

// Blocking queries wait at most this long (Consul caps at 10m; 5m keeps
// idle connections through common proxies' timeouts).
constexpr core::Duration kMaxWait{5 * 60 * 1000};
constexpr core::Duration kDefaultWait{60 * 1000};

void discover(ApiContext& ctx, Discovery& discovery, const Request& req, const std::string& service,
              Respond respond) {
  if (!ctx.registry->has_service(service))
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  DiscoverFilter filter;
  if (auto it = req.query.find("tag"); it != req.query.end()) filter.tag = it->second;
  if (auto it = req.query.find("passing"); it != req.query.end()) {
    if (it->second == "true" || it->second == "1" || it->second.empty())
      filter.passing = true;
    else if (it->second == "false" || it->second == "0")
      filter.passing = false;
    else
      return respond(
          error_response(ErrorCode::invalid_argument, "'passing' must be true or false"));
  }
  std::optional<std::uint64_t> index;
  if (auto it = req.query.find("index"); it != req.query.end()) {
    auto v = parse_int(it->second, 0, std::numeric_limits<long long>::max());
    if (!v)
      return respond(
          error_response(ErrorCode::invalid_argument, "'index' must be a whole number >= 0"));
    index = static_cast<std::uint64_t>(*v);
  }
  core::Duration wait = kDefaultWait;
  if (auto it = req.query.find("wait"); it != req.query.end()) {
    auto d = config::parse_duration(it->second);
    if (!d)
      return respond(error_response(ErrorCode::invalid_argument,
                                    "'wait' must be a duration like 30s or 500ms"));
    wait = std::min(*d, kMaxWait);
  }
  // An index ahead of the service's (meshd restarted, and its indexes with
  // it) is answered at once too: the client sees the index go backwards and
  // starts again from it, as Consul's clients do, instead of waiting a
  // whole `wait` for an index that may be far off.
  if (!index || ctx.registry->index(service) != *index)
    return respond(Response(discovery.cache.answer(service, filter)));

  // Block until the index moves or the wait ends.
  discovery.watches.park(req, service, filter, *index, wait, std::move(respond));
}

std::optional<nlohmann::json> parse_body(const Request& req, Respond& respond, bool optional) {
  if (req.body.empty()) {
    if (optional) return nlohmann::json::object();
    respond(error_response(ErrorCode::invalid_argument, "a JSON body is required"));
    return std::nullopt;
  }
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    respond(error_response(ErrorCode::invalid_argument, "the body is not valid JSON"));
    return std::nullopt;
  }
  return body;
}

void register_instance(ApiContext& ctx, const Request& req, Respond respond) {
  auto body = parse_body(req, respond, false);
  if (!body) return;
  auto reg = registry::Registration::from_json(*body);
  if (!reg) return respond(error_response(reg.error()));
  std::string id = reg->id, service = reg->service;
  auto status = ctx.registrations->add(std::move(*reg));
  if (!status) return respond(error_response(status.error()));
  respond(json_response(
      201, {{"service", service}, {"id", id}, {"index", ctx.registry->index(service)}}));
}

// drain | maintenance | ready: overrides kept in the store so that they
// apply again after meshd restarts.
void set_override(ApiContext& ctx, const Request& req, const std::string& service,
                  const std::string& id, const std::string& action, Respond respond) {
  const auto* record = ctx.registry->find(id);
  if (!ctx.registry->has_service(service))
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  if (!record || record->service != service)
    return respond(error_response(ErrorCode::not_found,
                                  "service '" + service + "' has no instance '" + id + "'"));
  auto body = parse_body(req, respond, true);
  if (!body) return;
  if (!body->is_object() || (body->contains("note") && !(*body)["note"].is_string()))
    return respond(error_response(ErrorCode::invalid_argument,
                                  "the body must be {\"note\": \"...\"} or empty"));
  for (auto it = body->begin(); it != body->end(); ++it)
    if (it.key() != "note")
      return respond(
          error_response(ErrorCode::invalid_argument, "unknown field '" + it.key() + "'"));
  registry::Overrides o = ctx.registry->overrides(id);
  if (action == "drain")
    o.drain = true;
  else if (action == "maintenance")
    o.maintenance = true;
  else
    o = registry::Overrides{};
  o.note = body->value("note", std::string());
  ctx.registry->set_overrides(id, o);
  if (o.any())
    ctx.catalog->save_overrides(id, registry::encode_overrides(o));
  else
    ctx.catalog->delete_overrides(id);
  ctx.events->publish("instance.override", service, id,
                      id + ": " + action + (o.note.empty() ? "" : " (" + o.note + ")"),
                      {{"drain", o.drain}, {"maintenance", o.maintenance}, {"note", o.note}});
  const auto* s = ctx.supervisor->find(service);
  respond(json_response(
      200, instance_view(*ctx.registry->find(id), o, s ? s->find_instance(id) : nullptr)));
}

void pass_ttl(ApiContext& ctx, const Request& req, const std::string& service,
              const std::string& id, Respond respond) {
  std::string note;
  if (!req.body.empty()) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_discarded() && body.is_object() && body.contains("note") &&
        body["note"].is_string())
      note = body["note"];
    else if (body.is_discarded())
      note = req.body.substr(0, 512);  // a plain-text note, as Consul allows
    else
      return respond(error_response(ErrorCode::invalid_argument,
                                    "the body must be {\"note\": \"...\"}, text, or empty"));
  }
  if (ctx.registrations->has(id)) {
    auto status = ctx.registrations->pass_ttl(service, id, note);
    if (!status) return respond(error_response(status.error()));
    return respond(json_response(200, {{"id", id}, {"health", "passing"}}));
  }
  auto* s = ctx.supervisor->find(service);
  auto* i = s ? s->find_instance(id) : nullptr;
  if (!i)
    return respond(error_response(ErrorCode::not_found,
                                  "service '" + service + "' has no instance '" + id + "'"));
  if (!i->pass_ttl(note))
    return respond(error_response(ErrorCode::conflict,
                                  "instance '" + id + "' has a " +
                                      std::string(config::to_string(i->checker().spec().type)) +
                                      " check, not a ttl check"));
  respond(json_response(200, {{"id", id}, {"health", health::to_string(i->health())}}));
}

}  // namespace

std::size_t parked_queries(const Discovery& discovery) {
  return discovery.watches.parked();
}

std::shared_ptr<const Discovery> register_registry_routes(Router& router, ApiContext& ctx,
                                                          std::function<double()> random01) {
  auto discovery = std::make_shared<Discovery>(*ctx.registry, *ctx.scheduler, std::move(random01));
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };

  router.add("GET", "/api/v1/discover/{service}",
             read([&ctx, discovery](const Request& req, const Params& p, Respond respond) {
               discover(ctx, *discovery, req, p.at("service"), std::move(respond));
             }));
  router.add("POST", "/api/v1/registry",
             write([&ctx](const Request& req, const Params&, Respond respond) {
               register_instance(ctx, req, std::move(respond));
             }));
  router.add(
      "DELETE", "/api/v1/registry/{service}/{instance}",
      write([&ctx](const Request&, const Params& p, Respond respond) {
        auto status = ctx.registrations->remove(p.at("service"), p.at("instance"));
        if (!status) return respond(error_response(status.error()));
        respond(json_response(
            200, {{"service", p.at("service")}, {"id", p.at("instance")}, {"removed", true}}));
      }));
  router.add("PUT", "/api/v1/registry/{service}/{instance}/ttl",
             write([&ctx](const Request& req, const Params& p, Respond respond) {
               pass_ttl(ctx, req, p.at("service"), p.at("instance"), std::move(respond));
             }));
  for (std::string action : {"drain", "maintenance", "ready"})
    router.add("POST", "/api/v1/services/{name}/instances/{id}/" + action,
               write([&ctx, action](const Request& req, const Params& p, Respond respond) {
                 set_override(ctx, req, p.at("name"), p.at("id"), action, std::move(respond));
               }));
  return discovery;
}

}  // namespace meshd::api
