#include "meshd/api/views.hpp"

#include "meshd/config/types.hpp"

namespace meshd::api {

using supervisor::ProcessState;

nlohmann::json instance_view(const supervisor::Instance& instance) {
  nlohmann::json j = {
      {"id", instance.id()},
      {"address", instance.address()},
      {"port", instance.port() ? nlohmann::json(*instance.port()) : nlohmann::json(nullptr)},
      {"pid", instance.pid() > 0 ? nlohmann::json(instance.pid()) : nlohmann::json(nullptr)},
      {"state", supervisor::to_string(instance.state())},
      {"health", health::to_string(instance.health())},
      {"health_output", instance.health_output()},
      {"weight", instance.weight()},
      {"origin", instance.managed() ? "managed" : "external"},
      {"restarts", instance.restarts()},
      {"reason", instance.reason()},
  };
  if (auto t = instance.started_at()) j["started_at_ms"] = core::to_unix_ms(*t);
  else j["started_at_ms"] = nullptr;
  return j;
}

nlohmann::json service_view(const supervisor::Supervisor& sup, const supervisor::Service& service) {
  const auto& spec = service.spec();
  nlohmann::json deps = nlohmann::json::array();
  nlohmann::json dep_detail = nlohmann::json::array();
  for (const auto& d : spec.depends_on) {
    deps.push_back(d.service);
    dep_detail.push_back(
        {{"service", d.service}, {"condition", config::to_string(d.condition)}, {"required", d.required}});
  }
  nlohmann::json instances = nlohmann::json::array();
  int passing = 0;
  for (const auto& i : service.instances()) {
    instances.push_back(instance_view(*i));
    if (i->health() == health::HealthStatus::passing) ++passing;
  }
  auto degraded = sup.degraded_by(service);
  return {
      {"name", service.name()},
      {"state", supervisor::to_string(service.state())},
      {"health", health::to_string(service.health())},
      {"degraded", degraded.has_value()},
      {"degraded_by", degraded ? nlohmann::json(*degraded) : nlohmann::json(nullptr)},
      {"waiting_on", service.waiting_on()},
      {"restarts", service.restarts()},
      {"depends_on", deps},
      {"dependencies", dep_detail},
      {"managed", spec.managed()},
      {"port", spec.port ? nlohmann::json(*spec.port) : nlohmann::json(nullptr)},
      {"replicas", spec.instance_count()},
      {"instances_passing", passing},
      {"tags", spec.tags},
      {"metadata", spec.metadata},
      {"health_check", config::to_string(spec.health.type)},
      {"load_balancer", config::to_string(spec.load_balancer)},
      {"instances", instances},
  };
}

nlohmann::json explain_view(const supervisor::Supervisor& sup, const supervisor::Service& service,
                            const supervisor::Instance& instance) {
  nlohmann::json reasons = nlohmann::json::array();
  if (instance.state() != ProcessState::running && instance.state() != ProcessState::starting)
    reasons.push_back({{"kind", "process"},
                       {"message", std::string("process is ") + supervisor::to_string(instance.state()) +
                                       (instance.reason().empty() ? "" : ": " + instance.reason())}});
  if (instance.health() != health::HealthStatus::passing && instance.health() != health::HealthStatus::warning)
    reasons.push_back({{"kind", "health"},
                       {"message", std::string("health check is ") + health::to_string(instance.health())},
                       {"output", instance.health_output()}});
  if (auto root = sup.degraded_by(service))
    reasons.push_back({{"kind", "dependency"}, {"message", "required dependency '" + *root + "' is not healthy"}});
  return {{"service", service.name()},
          {"instance", instance.id()},
          {"in_rotation", reasons.empty()},
          {"reasons", reasons},
          {"state", supervisor::to_string(instance.state())},
          {"health", health::to_string(instance.health())},
          {"last_check_output", instance.health_output()}};
}

nlohmann::json overall_health_view(const supervisor::Supervisor& sup) {
  nlohmann::json counts = nlohmann::json::object();
  int total = 0, unavailable = 0, degraded = 0;
  for (const auto& s : sup.services()) {
    std::string state = supervisor::to_string(s->state());
    counts[state] = counts.value(state, 0) + 1;
    ++total;
    bool completed = s->state() == ProcessState::exited;
    if (!completed && !s->available()) ++unavailable;
    if (sup.degraded_by(*s)) ++degraded;
  }
  std::string status = "healthy";
  if (total > 0 && unavailable == total) status = "unhealthy";
  else if (unavailable > 0 || degraded > 0) status = "degraded";
  return {{"status", status},
          {"services", counts},
          {"total", total},
          {"unavailable", unavailable},
          {"degraded", degraded}};
}

}  // namespace meshd::api
