#include "meshd/api/views.hpp"

#include "meshd/breaker/breaker_state.hpp"
#include "meshd/config/types.hpp"
#include "meshd/registry/rotation.hpp"

namespace meshd::api {

using supervisor::ProcessState;

namespace {

// What the state column says: the process state where there is a process
// (here, or on the owning node), "running" for an address from a file,
// "registered" for one registered at run time.
std::string instance_state(const registry::InstanceRecord& record) {
  using registry::Origin;
  if (record.origin == Origin::managed) return record.process_state;
  if (record.origin == Origin::remote) {
    if (!record.process_state.empty()) return record.process_state;
    return record.remote_origin == "external" ? "running" : "registered";
  }
  return "registered";
}

bool available(const registry::Registry& registry, const std::string& service) {
  for (const auto* r : registry.instances(service))
    if (r->healthy() && !registry.overrides(r->id).any()) return true;
  return false;
}

}  // namespace

nlohmann::json instance_view(const registry::InstanceRecord& record,
                             const registry::Overrides& overrides,
                             const supervisor::Instance* process, gateway::ServiceRoute* route,
                             core::TimePoint now) {
  nlohmann::json j = {
      {"id", record.id},
      {"address", record.address},
      {"port", record.port ? nlohmann::json(record.port) : nlohmann::json(nullptr)},
      {"pid", record.pid > 0 ? nlohmann::json(record.pid) : nlohmann::json(nullptr)},
      {"state", instance_state(record)},
      {"health", health::to_string(record.health)},
      {"health_output", record.health_output},
      {"check", record.check_type},
      {"weight", record.weight},
      {"origin", registry::to_string(record.origin)},
      {"node", record.node},
      {"tags", record.tags},
      {"metadata", record.metadata},
      {"drain", overrides.drain},
      {"maintenance", overrides.maintenance},
      {"in_rotation", registry::rotation_reasons(record, overrides).empty()},
  };
  if (route && now == core::TimePoint{}) now = core::SteadyClock::now();
  if (auto* b = route ? route->breaker(record.id) : nullptr) {
    j["breaker"] = breaker::to_string(b->state(now));
    auto host = route->host(record.id);
    j["active_requests"] = host->active_requests;
    j["requests"] = host->requests;
    j["errors"] = host->failures;
    j["latency_ms"] =
        host->has_latency() ? nlohmann::json(host->latency_ewma_ms()) : nlohmann::json(nullptr);
    j["ejected"] = route->outlier().ejected(record.id, now);
    j["times_ejected"] = route->outlier().times_ejected(record.id);
    for (const auto& r : route->reasons(record.id, now))
      if (r.kind != "slow_start") j["in_rotation"] = false;
  } else {
    j["breaker"] = route ? nlohmann::json("closed") : nlohmann::json(nullptr);
  }
  if (record.origin == registry::Origin::external)
    j["state"] = process ? supervisor::to_string(process->state()) : "running";
  if (record.origin == registry::Origin::remote) j["remote_origin"] = record.remote_origin;
  if (process) {
    j["restarts"] = process->restarts();
    j["reason"] = process->reason();
    if (auto t = process->started_at())
      j["started_at_ms"] = core::to_unix_ms(*t);
    else
      j["started_at_ms"] = nullptr;
  } else {
    j["restarts"] = 0;
    j["reason"] = "";
    j["started_at_ms"] =
        record.joined_ms ? nlohmann::json(record.joined_ms) : nlohmann::json(nullptr);
  }
  return j;
}

nlohmann::json service_view(const supervisor::Supervisor& sup, const registry::Registry& registry,
                            const supervisor::Service& service, gateway::ServiceRoute* route,
                            core::TimePoint now) {
  const auto& spec = service.spec();
  nlohmann::json deps = nlohmann::json::array();
  nlohmann::json dep_detail = nlohmann::json::array();
  for (const auto& d : spec.depends_on) {
    deps.push_back(d.service);
    dep_detail.push_back({{"service", d.service},
                          {"condition", config::to_string(d.condition)},
                          {"required", d.required}});
  }
  nlohmann::json instances = nlohmann::json::array();
  int passing = 0, in_rotation = 0;
  for (const auto* r : registry.instances(service.name())) {
    const auto* self = service.find_instance(r->id);
    auto view = instance_view(*r, registry.overrides(r->id), self, route, now);
    if (r->health == health::HealthStatus::passing) ++passing;
    if (view["in_rotation"].get<bool>()) ++in_rotation;
    instances.push_back(std::move(view));
  }
  auto degraded = sup.degraded_by(service);
  // Null until a rollout (a reload's or a restart's) touched the service;
  // then GET .../rollout's object, plus the older "status" spelling.
  nlohmann::json rollout = nullptr;
  if (auto status = sup.rollout_status(service.name()); status && !status->state.empty()) {
    rollout = rollout_view(service.name(), *status, spec);
    rollout["status"] = status->status();
  }
  return {
      {"name", service.name()},
      {"rollout", rollout},
      {"state", supervisor::to_string(service.state())},
      {"health", health::to_string(service.health())},
      {"degraded", degraded.has_value()},
      {"degraded_by", degraded ? nlohmann::json(*degraded) : nlohmann::json(nullptr)},
      {"waiting_on", service.waiting_on()},
      {"restarts", service.restarts()},
      {"depends_on", deps},
      {"dependencies", dep_detail},
      {"managed", spec.managed()},
      {"declared", true},
      {"port", spec.port ? nlohmann::json(*spec.port) : nlohmann::json(nullptr)},
      {"replicas", spec.instance_count()},
      {"instances_total", instances.size()},
      {"instances_passing", passing},
      {"instances_in_rotation", in_rotation},
      {"index", registry.index(service.name())},
      {"tags", spec.tags},
      {"metadata", spec.metadata},
      {"health_check", config::to_string(spec.health.type)},
      {"load_balancer", config::to_string(spec.load_balancer)},
      {"instances", instances},
  };
}

nlohmann::json catalog_service_view(const registry::Registry& registry, const std::string& name,
                                    gateway::ServiceRoute* route, core::TimePoint now) {
  nlohmann::json instances = nlohmann::json::array();
  int passing = 0, in_rotation = 0;
  bool all_remote = true;
  for (const auto* r : registry.instances(name)) {
    auto view = instance_view(*r, registry.overrides(r->id), nullptr, route, now);
    if (r->health == health::HealthStatus::passing) ++passing;
    if (view["in_rotation"].get<bool>()) ++in_rotation;
    if (r->local()) all_remote = false;
    instances.push_back(std::move(view));
  }
  const char* health = instances.empty() ? "unknown" : passing > 0 ? "passing" : "critical";
  return {
      {"name", name},
      {"rollout", nullptr},
      {"state", instances.empty() || !all_remote ? "registered" : "elsewhere"},
      {"health", health},
      {"degraded", false},
      {"degraded_by", nullptr},
      {"waiting_on", nlohmann::json::array()},
      {"restarts", 0},
      {"depends_on", nlohmann::json::array()},
      {"dependencies", nlohmann::json::array()},
      {"managed", false},
      {"declared", false},
      {"port", nullptr},
      {"replicas", instances.size()},
      {"instances_total", instances.size()},
      {"instances_passing", passing},
      {"instances_in_rotation", in_rotation},
      {"index", registry.index(name)},
      {"tags", nlohmann::json::array()},
      {"metadata", nlohmann::json::object()},
      {"health_check", "none"},
      {"load_balancer", route ? config::to_string(route->spec().load_balancer) : "round_robin"},
      {"instances", instances},
  };
}

nlohmann::json explain_view(const supervisor::Supervisor& sup, const registry::Registry& registry,
                            const supervisor::Service& service,
                            const registry::InstanceRecord& record, gateway::ServiceRoute* route,
                            core::TimePoint now) {
  auto overrides = registry.overrides(record.id);
  nlohmann::json reasons = nlohmann::json::array();
  auto all = registry::rotation_reasons(record, overrides);
  if (route) {
    if (now == core::TimePoint{}) now = core::SteadyClock::now();
    for (auto& r : route->reasons(record.id, now)) all.push_back(std::move(r));
  }
  for (const auto& r : all) {
    nlohmann::json j = {{"kind", r.kind}, {"message", r.message}};
    if (!r.output.empty()) j["output"] = r.output;
    reasons.push_back(std::move(j));
  }
  nlohmann::json notes = nlohmann::json::array();
  if (auto root = sup.degraded_by(service))
    notes.push_back("the service is degraded: required dependency '" + *root + "' is not healthy");
  if (record.origin == registry::Origin::remote)
    notes.push_back("the instance runs on node '" + record.node +
                    "': its health and process state come from that node's checks");
  // Slow start lowers an instance's share but keeps it in rotation.
  bool in_rotation = true;
  for (const auto& r : all)
    if (r.kind != "slow_start") in_rotation = false;
  return {{"service", service.name()},
          {"instance", record.id},
          {"node", record.node},
          {"origin", registry::to_string(record.origin)},
          {"in_rotation", in_rotation},
          {"reasons", reasons},
          {"notes", notes},
          {"state", record.process_state},
          {"health", health::to_string(record.health)},
          {"check", record.check_type},
          {"last_check_output", record.health_output}};
}

nlohmann::json overall_health_view(const supervisor::Supervisor& sup,
                                   const registry::Registry& registry) {
  nlohmann::json counts = nlohmann::json::object();
  int total = 0, unavailable = 0, degraded = 0;
  for (const auto& s : sup.services()) {
    std::string state = supervisor::to_string(s->state());
    counts[state] = counts.value(state, 0) + 1;
    ++total;
    bool completed = s->state() == ProcessState::exited;
    if (!completed && !available(registry, s->name())) ++unavailable;
    if (sup.degraded_by(*s)) ++degraded;
  }
  std::string status = "healthy";
  if (total > 0 && unavailable == total)
    status = "unhealthy";
  else if (unavailable > 0 || degraded > 0)
    status = "degraded";
  return {{"status", status},
          {"services", counts},
          {"total", total},
          {"unavailable", unavailable},
          {"degraded", degraded}};
}

}  // namespace meshd::api
