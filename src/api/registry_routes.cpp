#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

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

// A discover answer's body, {"index":N,"instances":[...],"service":"name"}
// (the key order nlohmann::json gives). Each instance's part is serialised
// once per revision of its record and kept; a body is their concatenation.
// After one instance of a 5,000-instance service changes, the next answer
// serialises that one instance and copies the rest, instead of building
// 5,000 JSON objects again.
std::string discover_body(ApiContext& ctx, const std::string& service, std::uint64_t index, const std::string& tag,
                          bool passing) {
  auto& fragments = ctx.discover_fragments;
  auto instances = ctx.registry->instances(service);
  std::string body = "{\"index\":" + std::to_string(index) + ",\"instances\":[";
  body.reserve(body.size() + 200 * instances.size() + service.size() + 32);
  bool first = true;
  for (const auto* r : instances) {
    if (!tag.empty() && std::find(r->tags.begin(), r->tags.end(), tag) == r->tags.end()) continue;
    auto& f = fragments[r->id];
    if (f.json.empty() || f.revision != r->revision) {
      f.revision = r->revision;
      f.in_rotation = registry::rotation_reasons(*r, ctx.registry->overrides(r->id)).empty();
      f.passing = r->health == health::HealthStatus::passing;
      f.json = nlohmann::json({{"id", r->id},
                               {"service", r->service},
                               {"address", r->address},
                               {"port", r->port},
                               {"tags", r->tags},
                               {"metadata", r->metadata},
                               {"weight", r->weight},
                               {"health", health::to_string(r->health)},
                               {"origin", registry::to_string(r->origin)},
                               {"in_rotation", f.in_rotation}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (passing && !(f.in_rotation && f.passing)) continue;
    if (!first) body += ',';
    first = false;
    body += f.json;
  }
  body += "],\"service\":";
  body += nlohmann::json(service).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body += '}';
  // Fragments of instances that are gone go now and then.
  if (fragments.size() > 2 * ctx.registry->size() + 256)
    std::erase_if(fragments, [&ctx](const auto& entry) { return ctx.registry->find(entry.first) == nullptr; });
  return body;
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
    Response res;
    res.body = discover_body(ctx, service, current, tag, passing);  // the same index as the header
    res.headers.emplace_back("X-Mesh-Index", std::to_string(current));
    entry.answer = prepare_response(std::move(res));
    entry.index = current;
  }
  return entry.answer;
}

}  // namespace

// The blocking queries parked on one service with the same filter and the
// same index: one registry watch for all of them, and when it fires, one
// answer, sent to every one of them in one ResponseBatch. Consul clients
// ask again with the index they were last given, so a thousand watchers
// of a service are one group, whose wake-up costs a send per watcher and
// little else.
struct DiscoverWatch {
  struct Member {
    Respond respond;
    core::Scheduler::TimerId timer = 0;
    DiscoverWatch* group = nullptr;  // valid while !done
    bool done = false;
  };

  std::string id;  // its key in ApiContext::discover_watches
  std::string service, key, tag;
  bool passing = false;
  registry::Registry::WatchId watch = 0;
  std::vector<std::shared_ptr<Member>> members;
  std::size_t live = 0;  // members not done
};

namespace {

using Member = DiscoverWatch::Member;

// The service's index moved: answer every member.
void wake(ApiContext& ctx, const std::string& id) {
  auto it = ctx.discover_watches.find(id);
  if (it == ctx.discover_watches.end()) return;
  auto group = std::move(it->second);
  ctx.discover_watches.erase(it);
  group->watch = 0;
  auto answer = discover_answer(ctx, group->service, group->key, group->tag, group->passing);
  {
    ResponseBatch batch;  // the sends go out together when it closes
    for (auto& m : group->members) {
      if (m->done) continue;
      m->done = true;
      auto respond = std::move(m->respond);
      respond(Response(answer));
    }
  }
  // The wait timers go after every answer is out.
  for (auto& m : group->members)
    if (m->timer) ctx.scheduler->cancel(std::exchange(m->timer, 0));
}

// A member stops waiting (its wait ended, or its client hung up); the
// group goes when its last member does.
void leave(ApiContext& ctx, Member& m) {
  if (m.done) return;
  m.done = true;
  auto* group = m.group;
  if (--group->live == 0) {
    ctx.registry->cancel(group->watch);
    ctx.discover_watches.erase(group->id);  // destroys the group
    return;
  }
  // Clients that time out and ask again with the same index join the same
  // group; drop the members that left, now and then.
  if (group->members.size() > 2 * group->live + 64)
    std::erase_if(group->members, [](const std::shared_ptr<Member>& x) { return x->done; });
}

void park(ApiContext& ctx, const Request& req, const std::string& service, std::string key, const std::string& tag,
          bool passing, std::uint64_t after, core::Duration wait, Respond respond) {
  std::string id = key + '\n' + std::to_string(after);
  auto& slot = ctx.discover_watches[id];
  if (!slot) {
    slot = std::make_shared<DiscoverWatch>();
    slot->id = id;
    slot->service = service;
    slot->key = std::move(key);
    slot->tag = tag;
    slot->passing = passing;
    // Fires at the next change: the caller saw index(service) == after.
    slot->watch = ctx.registry->watch(service, after, [&ctx, id] { wake(ctx, id); });
  }
  auto group = slot;
  auto m = std::make_shared<Member>();
  m->respond = std::move(respond);
  m->group = group.get();
  group->members.push_back(m);
  ++group->live;
  // The wait ends with the answer as it is; jitter spreads the wake-ups of
  // many watchers. A client that hangs up first is let go at once.
  auto jitter = core::Duration(static_cast<long long>(ctx.random01() * static_cast<double>(wait.count()) / 16.0));
  m->timer = ctx.scheduler->schedule(wait + jitter, [&ctx, m] {
    m->timer = 0;
    if (m->done) return;
    Response res(discover_answer(ctx, m->group->service, m->group->key, m->group->tag, m->group->passing));
    auto answer = std::move(m->respond);
    leave(ctx, *m);
    answer(std::move(res));
  });
  if (req.hangup)
    req.hangup->on_hangup([&ctx, m] {
      if (m->done) return;
      if (m->timer) ctx.scheduler->cancel(std::exchange(m->timer, 0));
      m->respond = nullptr;
      leave(ctx, *m);
    });
}

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
  // An index ahead of the service's (meshd restarted, and its indexes with
  // it) is answered at once too: the client sees the index go backwards and
  // starts again from it, as Consul's clients do, instead of waiting a
  // whole `wait` for an index that may be far off.
  if (!index || ctx.registry->index(service) != *index) {
    return respond(Response(discover_answer(ctx, service, key, tag, passing)));
  }

  // Block until the index moves or the wait ends.
  park(ctx, req, service, std::move(key), tag, passing, *index, wait, std::move(respond));
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

std::size_t parked_queries(const ApiContext& ctx) {
  std::size_t n = 0;
  for (const auto& [id, group] : ctx.discover_watches) n += group->live;
  return n;
}

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
