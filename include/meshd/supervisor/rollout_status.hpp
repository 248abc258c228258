#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::supervisor {

/// One replica of a rollout, for GET /api/v1/services/{name}/rollout.
struct RolloutReplica {
  int index = 0;
  std::string old_instance;  // empty: the new definition added this replica
  std::string new_instance;  // empty: not started yet
  /// waiting (not started yet), starting (running, not passing yet),
  /// proving (passing, for less than min_healthy), canary (proven, waiting
  /// for promote), proven (its old instance drains), replaced (done),
  /// failed (the new instance broke the window or missed the deadline),
  /// restoring (an instance of the previous definition is starting again),
  /// restored (the previous definition serves it again).
  std::string state = "waiting";
  /// When the new instance began passing without a break since (the
  /// scheduler's clock); unset while it is not passing.
  std::optional<core::TimePoint> passing_since;
  /// Filled by Supervisor::rollout_status(): now - passing_since.
  std::optional<core::Duration> healthy_for;
};

/// A service's last (or running) rollout: its state, its replicas, why it
/// failed. Every step is also a `service.rollout` event.
struct RolloutStatus {
  /// progressing, waiting_promote, succeeded, failed, reverted; empty
  /// when no rollout ever ran for the service.
  std::string state;
  /// What started it: "reload" (a config reload or rollback), "restart"
  /// (POST .../restart: the same definition, replaced the same way).
  std::string trigger = "reload";
  std::string reason;               // why it failed, was reverted or aborted
  std::vector<std::string> fields;  // what the reload changed
  config::RolloutSpec settings;     // of the definition being rolled out
  int canary = 0;                   // canaries in effect (settings.canary, at most the replicas)
  std::vector<RolloutReplica> replicas;
  std::int64_t started_ms = 0;   // wall clock, ms since the epoch
  std::int64_t finished_ms = 0;  // 0 while running

  bool running() const { return state == "progressing" || state == "waiting_promote"; }
  /// The older spelling kept in the service view: rolling, applied or
  /// rolled_back ("" before any rollout).
  std::string status() const {
    if (state.empty()) return "";
    if (running()) return "rolling";
    if (state == "reverted") return "rolled_back";
    return state == "failed" ? "failed" : "applied";
  }
};

}  // namespace meshd::supervisor
