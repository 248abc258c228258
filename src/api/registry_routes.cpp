#include <algorithm>
#include <utility>

#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"
#include "meshd/config/values.hpp"
#include "meshd/registry/rotation.hpp"

namespace meshd::api {
namespace {

using core::ErrorCode;

// Blocking queries wait at most this long (Consul caps at 10m; 5m keeps
// idle connections through common proxies' timeouts).
constexpr core::Duration kMaxWait{5 * 60 * 1000};
constexpr core::Duration kDefaultWait{60 * 1000};

nlohmann::json discover_body(ApiContext& ctx, const std::string& service, const std::string& tag, bool passing) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto* r : ctx.registry->instances(service)) {
    if (!tag.empty() && std::find(r->tags.begin(), r->tags.end(), tag) == r->tags.end()) continue;
    auto overrides = ctx.registry->overrides(r->id);
    bool in_rotation = registry::rotation_reasons(*r, overrides).empty();
    if (passing && (!in_rotation || r->health != health::HealthStatus::passing)) continue;
    list.push_back({{"id", r->id},
                    {"service", r->service},
                    {"address", r->address},
                    {"port", r->port},
                    {"tags", r->tags},
                    {"metadata", r->metadata},
                    {"weight", r->weight},
                    {"health", health::to_string(r->health)},
                    {"origin", registry::to_string(r->origin)},
                    {"in_rotation", in_rotation}});
  }
  return {{"service", service}, {"index", ctx.registry->index(service)}, {"instances", list}};
}

// The answer to a discover query at the service's current index, serialised
// once per (service, index, filter): a blocking query's watchers all wake at
// the same index, and repeated reads of a big service cost one
// serialisation instead of one per request. Every answer shares the bytes.
std::shared_ptr<const PreparedResponse> discover_answer(ApiContext& ctx, const std::string& service, const std::string& key,
                                                       const std::string& tag, bool passing) {
  auto current = ctx.registry->index(service);
  if (ctx.discover_cache.size() > 512 && !ctx.discover_cache.count(key)) ctx.discover_cache.clear();  // tags are caller-chosen
  auto& entry = ctx.discover_cache[key];
  if (!entry.answer || entry.index != current) {
    Response res = json_response(200, discover_body(ctx, service, tag, passing));
    res.headers.emplace_back("X-Mesh-Index", std::to_string(current));
    entry.answer = prepare_response(std::move(res));
    entry.index = current;
  }
  return entry.answer;
}

// A parked blocking query: answered when its service's index moves past the
// one it asked about, or when its wait ends, whichever is first.
struct Parked {
  ApiContext& ctx;
  std::string service, key, tag;
  bool passing = false;
  Respond respond;
  core::Scheduler::TimerId timer = 0;
  registry::Registry::WatchId watch = 0;
  bool done = false;

  // A change wakes every watcher of the service in one loop: each answer
  // goes out first, and the bookkeeping (cancelling the wait's timer, an
  // Asio timer-queue removal and a post) runs once after the whole loop,
  // so that the last watcher's answer does not wait for everybody's cleanup.
  void answer() {
    if (done) return;
    done = true;
    if (watch) ctx.registry->cancel(watch);
    watch = 0;
    Response res;
    res.prepared = discover_answer(ctx, service, key, tag, passing);
    auto r = std::move(respond);
    r(std::move(res));
    if (timer) {
      if (ctx.woken_timers.empty())
        ctx.scheduler->post([&ctx = ctx] {
          for (auto id : std::exchange(ctx.woken_timers, {})) ctx.scheduler->cancel(id);
        });
      ctx.woken_timers.push_back(std::exchange(timer, 0));
    }
  }

  // The client hung up first: nobody is left to answer.
  void release() {
    if (done) return;
    done = true;
    if (timer) ctx.scheduler->cancel(timer);
    if (watch) ctx.registry->cancel(watch);
    timer = 0;
    watch = 0;
    respond = nullptr;
  }
};

void discover(ApiContext& ctx, const Request& req, const std::string& service, Respond respond) {
  if (!ctx.registry->has_service(service))
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  std::string tag;
  if (auto it = req.query.find("tag"); it != req.query.end()) tag = it->second;
  bool passing = false;
  if (auto it = req.query.find("passing"); it != req.query.end()) {
    if (it->second == "true" || it->second == "1" || it->second.empty()) passing = true;
    else if (it->second == "false" || it->second == "0") passing = false;
    else return respond(error_response(ErrorCode::invalid_argument, "'passing' must be true or false"));
  }
  std::optional<std::uint64_t> index;
  if (auto it = req.query.find("index"); it != req.query.end()) {
    auto v = parse_int(it->second, 0, std::numeric_limits<long long>::max());
    if (!v) return respond(error_response(ErrorCode::invalid_argument, "'index' must be a whole number >= 0"));
    index = static_cast<std::uint64_t>(*v);
  }
  core::Duration wait = kDefaultWait;
  if (auto it = req.query.find("wait"); it != req.query.end()) {
    auto d = config::parse_duration(it->second);
    if (!d) return respond(error_response(ErrorCode::invalid_argument, "'wait' must be a duration like 30s or 500ms"));
    wait = std::min(*d, kMaxWait);
  }
  std::string key = service + '\n' + tag + '\n' + (passing ? "1" : "0");
  if (!index || ctx.registry->index(service) > *index) {
    Response res;
    res.prepared = discover_answer(ctx, service, key, tag, passing);
    return respond(std::move(res));
  }

  // Block until the index moves or the wait ends; jitter spreads the
  // wake-ups of many watchers. A client that hangs up first is let go at once.
  auto parked = std::make_shared<Parked>(Parked{ctx, service, std::move(key), tag, passing, std::move(respond)});
  auto jitter = core::Duration(static_cast<long long>(ctx.random01() * static_cast<double>(wait.count()) / 16.0));
  parked->timer = ctx.scheduler->schedule(wait + jitter, [parked] {
    parked->timer = 0;
    parked->answer();
  });
  parked->watch = ctx.registry->watch(service, *index, [parked] {
    parked->watch = 0;
    parked->answer();
  });
  if (req.hangup && !parked->done) req.hangup->on_hangup([parked] { parked->release(); });
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
  respond(json_response(201, {{"service", service}, {"id", id}, {"index", ctx.registry->index(service)}}));
}

// drain | maintenance | ready: overrides kept in the store so that they
// apply again after meshd restarts.
void set_override(ApiContext& ctx, const Request& req, const std::string& service, const std::string& id,
                  const std::string& action, Respond respond) {
  const auto* record = ctx.registry->find(id);
  if (!ctx.registry->has_service(service))
    return respond(error_response(ErrorCode::not_found, "no service named '" + service + "'"));
  if (!record || record->service != service)
    return respond(error_response(ErrorCode::not_found, "service '" + service + "' has no instance '" + id + "'"));
  auto body = parse_body(req, respond, true);
  if (!body) return;
  if (!body->is_object() || (body->contains("note") && !(*body)["note"].is_string()))
    return respond(error_response(ErrorCode::invalid_argument, "the body must be {\"note\": \"...\"} or empty"));
  for (auto it = body->begin(); it != body->end(); ++it)
    if (it.key() != "note") return respond(error_response(ErrorCode::invalid_argument, "unknown field '" + it.key() + "'"));
  registry::Overrides o = ctx.registry->overrides(id);
  if (action == "drain") o.drain = true;
  else if (action == "maintenance") o.maintenance = true;
  else o = registry::Overrides{};
  o.note = body->value("note", std::string());
  ctx.registry->set_overrides(id, o);
  if (o.any())
    ctx.instance_store->save_overrides(id, nlohmann::json({{"drain", o.drain}, {"maintenance", o.maintenance}, {"note", o.note}}).dump());
  else
    ctx.instance_store->delete_overrides(id);
  ctx.events->publish("instance.override", service, id, id + ": " + action + (o.note.empty() ? "" : " (" + o.note + ")"),
                      {{"drain", o.drain}, {"maintenance", o.maintenance}, {"note", o.note}});
  const auto* s = ctx.supervisor->find(service);
  respond(json_response(200, instance_view(*ctx.registry->find(id), o, s ? s->find_instance(id) : nullptr)));
}

void pass_ttl(ApiContext& ctx, const Request& req, const std::string& service, const std::string& id, Respond respond) {
  std::string note;
  if (!req.body.empty()) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_discarded() && body.is_object() && body.contains("note") && body["note"].is_string()) note = body["note"];
    else if (body.is_discarded()) note = req.body.substr(0, 512);  // a plain-text note, as Consul allows
    else return respond(error_response(ErrorCode::invalid_argument, "the body must be {\"note\": \"...\"}, text, or empty"));
  }
  if (ctx.registrations->has(id)) {
    auto status = ctx.registrations->pass_ttl(service, id, note);
    if (!status) return respond(error_response(status.error()));
    return respond(json_response(200, {{"id", id}, {"health", "passing"}}));
  }
  auto* s = ctx.supervisor->find(service);
  auto* i = s ? s->find_instance(id) : nullptr;
  if (!i) return respond(error_response(ErrorCode::not_found, "service '" + service + "' has no instance '" + id + "'"));
  if (!i->pass_ttl(note))
    return respond(error_response(ErrorCode::conflict, "instance '" + id + "' has a " +
                                                          std::string(config::to_string(i->checker().spec().type)) +
                                                          " check, not a ttl check"));
  respond(json_response(200, {{"id", id}, {"health", health::to_string(i->health())}}));
}

}  // namespace

void register_registry_routes(Router& router, ApiContext& ctx) {
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };

  router.add("GET", "/api/v1/discover/{service}", read([&ctx](const Request& req, const Params& p, Respond respond) {
               discover(ctx, req, p.at("service"), std::move(respond));
             }));
  router.add("POST", "/api/v1/registry", write([&ctx](const Request& req, const Params&, Respond respond) {
               register_instance(ctx, req, std::move(respond));
             }));
  router.add("DELETE", "/api/v1/registry/{service}/{instance}",
             write([&ctx](const Request&, const Params& p, Respond respond) {
               auto status = ctx.registrations->remove(p.at("service"), p.at("instance"));
               if (!status) return respond(error_response(status.error()));
               respond(json_response(200, {{"service", p.at("service")}, {"id", p.at("instance")}, {"removed", true}}));
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
}

}  // namespace meshd::api
