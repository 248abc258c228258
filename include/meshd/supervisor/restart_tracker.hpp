#pragma once

#include <deque>
#include <optional>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::supervisor {

/// Decides whether and when a crashed instance starts again: exponential
/// backoff from `initial` doubling to `max`, each delay scaled by a random
/// factor in [0.8, 1.0] so replicas that crash together do not restart in
/// step (and each delay still exceeds the one before until the cap).
/// At most `max_restarts` restarts within `window` (0: no limit); one more
/// crash and the instance is failed. A process that ran for `reset_after`
/// before it exited starts again from `initial`. Pure logic.
class RestartTracker {
 public:
  explicit RestartTracker(const config::RestartSpec& spec) : spec_(spec) {}

  /// The process started at `started` exited unexpectedly at `now`: the
  /// delay before restarting, or nullopt when the limit is reached.
  std::optional<core::Duration> on_crash(core::TimePoint started, core::TimePoint now,
                                         double random01);

  /// An operator started the instance by hand: forget past crashes.
  void clear();
  /// New limits from a reload; the crash history is kept.
  void set_spec(const config::RestartSpec& spec) { spec_ = spec; }

  int total_restarts() const { return total_; }
  int consecutive_crashes() const { return consecutive_; }

 private:
  config::RestartSpec spec_;
  std::deque<core::TimePoint> recent_;  // restart times inside the window
  int consecutive_ = 0;
  int total_ = 0;
};

}  // namespace meshd::supervisor
