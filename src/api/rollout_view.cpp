// The rollout object of the API and the dashboard (docs/api.md, "Rollouts"):
// one shape for GET .../rollout, the answers of promote and abort, and the
// service object's "rollout" field.

#include "meshd/api/views.hpp"
#include "meshd/config/values.hpp"

namespace meshd::api {
namespace {

using nlohmann::json;

json settings_view(const config::RolloutSpec& s) {
  return {{"min_healthy", config::format_duration(s.min_healthy)},
          {"deadline", config::format_duration(s.deadline)},
          {"max_parallel", s.max_parallel},
          {"max_unavailable", s.max_unavailable},
          {"canary", s.canary},
          {"auto_revert", s.auto_revert}};
}

json id_or_null(const std::string& id) {
  return id.empty() ? json(nullptr) : json(id);
}

}  // namespace

json rollout_view(const std::string& service, const supervisor::RolloutStatus& rollout,
                  const config::ServiceSpec& current) {
  if (rollout.state.empty()) {
    // No rollout yet: what the next one will do, so the operator can check
    // the settings before reloading.
    return {{"service", service},
            {"state", nullptr},
            {"trigger", nullptr},
            {"reason", ""},
            {"fields", json::array()},
            {"settings", settings_view(current.rollout)},
            {"canary", std::min(current.rollout.canary, current.instance_count())},
            {"replicas", json::array()},
            {"started_ms", nullptr},
            {"finished_ms", nullptr}};
  }
  json replicas = json::array();
  for (const auto& r : rollout.replicas) {
    json healthy_for = nullptr;
    if (r.healthy_for)
      healthy_for = std::chrono::duration_cast<std::chrono::milliseconds>(*r.healthy_for).count();
    replicas.push_back({{"index", r.index},
                        {"old_instance", id_or_null(r.old_instance)},
                        {"new_instance", id_or_null(r.new_instance)},
                        {"state", r.state},
                        {"healthy_for_ms", healthy_for}});
  }
  return {{"service", service},
          {"state", rollout.state},
          {"trigger", rollout.trigger},
          {"reason", rollout.reason},
          {"fields", rollout.fields},
          {"settings", settings_view(rollout.settings)},
          {"canary", rollout.canary},
          {"replicas", replicas},
          {"started_ms", rollout.started_ms},
          {"finished_ms", rollout.finished_ms ? json(rollout.finished_ms) : json(nullptr)}};
}

}  // namespace meshd::api
