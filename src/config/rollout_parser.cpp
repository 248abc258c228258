// The `rollout:` block of a service (or of `defaults:`): how a
// process-level change replaces the running instances (docs/reload.md).

#include "meshd/config/values.hpp"
#include "parsers.hpp"

namespace meshd::config::detail {

RolloutSpec parse_rollout(const MapView& service) {
  RolloutSpec out;
  MapView map = service.child("rollout");
  read(map, "min_healthy", out.min_healthy, Duration{0});
  read(map, "deadline", out.deadline, Duration{1000});
  read(map, "max_parallel", out.max_parallel, 1, 1000);
  read(map, "max_unavailable", out.max_unavailable, 0, 1000);
  read(map, "canary", out.canary, 0, 1000);
  read(map, "auto_revert", out.auto_revert);
  // A deadline that cannot be met fails every rollout; say so now.
  if (out.deadline <= out.min_healthy) {
    if (const Node* deadline = map.get("deadline"))
      fail(deadline->mark, map.path("deadline") + ": must be longer than min_healthy (" +
                               format_duration(out.min_healthy) +
                               "), or no new instance could make it");
    fail(map.get("min_healthy")->mark,
         map.path("min_healthy") + ": must be shorter than the deadline (" +
             format_duration(out.deadline) + " by default); set rollout.deadline longer too");
  }
  return out;
}

}  // namespace meshd::config::detail
