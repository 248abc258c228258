#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/health/status.hpp"

namespace meshd::health {

/// Turns a stream of probe results into an instance's health, applying the
/// thresholds and the start period. Pure logic: time is an argument.
///
/// Thresholds hold from the very first result: a new instance is `unknown`
/// until `healthy_threshold` successes in a row make it passing (or warning,
/// when the last success was a warning), or `unhealthy_threshold` failures
/// in a row make it critical. Failures inside the start period do not count;
/// successes do, so a fast starter is passing early (Docker's semantics).
class HealthTracker {
 public:
  HealthTracker(const config::HealthSpec& spec, core::TimePoint started);

  /// Feeds one result; returns true when the status changed.
  bool record(const CheckResult& result, core::TimePoint now);

  /// Sets the status at once, bypassing thresholds: a process exit is
  /// critical without waiting for a check. Returns true when it changed.
  bool force(HealthStatus status, std::string output);

  /// Starts over for a new process: unknown, counters cleared.
  void reset(core::TimePoint started);

  HealthStatus status() const { return status_; }
  /// Failed results ever recorded (start-period ones excepted), below the
  /// unhealthy threshold too: a rollout's proving window tolerates none.
  std::uint64_t failed_checks() const { return failed_checks_; }
  const std::string& last_output() const { return last_output_; }
  std::optional<core::TimePoint> last_check() const { return last_check_; }
  /// How long the last probe took.
  core::Duration last_duration() const { return last_duration_; }
  bool in_start_period(core::TimePoint now) const { return now < started_ + spec_.start_period; }
  /// Delay before the next probe, without jitter: `interval` while passing;
  /// otherwise `unhealthy_interval`, or by default min(interval, 1s).
  core::Duration next_interval() const;

 private:
  config::HealthSpec spec_;
  core::TimePoint started_;
  HealthStatus status_ = HealthStatus::unknown;
  int successes_ = 0;
  int failures_ = 0;
  std::uint64_t failed_checks_ = 0;
  std::string last_output_;
  std::optional<core::TimePoint> last_check_;
  core::Duration last_duration_{0};
};

}  // namespace meshd::health
