#include "meshd/registry/rotation.hpp"

namespace meshd::registry {

std::vector<RotationReason> rotation_reasons(const InstanceRecord& record,
                                             const Overrides& overrides) {
  std::vector<RotationReason> reasons;
  if (record.runs_process() && record.process_state != "running" &&
      record.process_state != "starting")
    reasons.push_back({"process",
                       "process is " + (record.process_state.empty() ? std::string("not started")
                                                                     : record.process_state),
                       ""});
  if (record.health != health::HealthStatus::passing &&
      record.health != health::HealthStatus::warning)
    reasons.push_back({"health",
                       std::string("health check (") + record.check_type + ") is " +
                           health::to_string(record.health),
                       record.health_output});
  if (overrides.drain)
    reasons.push_back(
        {"drain",
         "draining by operator request" + (overrides.note.empty() ? "" : ": " + overrides.note),
         ""});
  if (overrides.maintenance)
    reasons.push_back({"maintenance",
                       "in maintenance" + (overrides.note.empty() ? "" : ": " + overrides.note),
                       ""});
  return reasons;
}

}  // namespace meshd::registry
