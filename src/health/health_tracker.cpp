#include "meshd/health/health_tracker.hpp"

#include <algorithm>

namespace meshd::health {

const char* to_string(HealthStatus status) {
  switch (status) {
    case HealthStatus::unknown:
      return "unknown";
    case HealthStatus::passing:
      return "passing";
    case HealthStatus::warning:
      return "warning";
    case HealthStatus::critical:
      return "critical";
  }
  return "unknown";
}

HealthTracker::HealthTracker(const config::HealthSpec& spec, core::TimePoint started)
    : spec_(spec), started_(started) {}

bool HealthTracker::record(const CheckResult& result, core::TimePoint now) {
  last_output_ = result.output.substr(0, kMaxCheckOutput);
  last_check_ = now;
  last_duration_ = result.duration;
  HealthStatus before = status_;
  if (result.status == HealthStatus::passing || result.status == HealthStatus::warning) {
    failures_ = 0;
    ++successes_;
    if (successes_ >= spec_.healthy_threshold || status_ == HealthStatus::passing ||
        status_ == HealthStatus::warning)
      status_ = result.status;
  } else {
    if (in_start_period(now) && status_ == HealthStatus::unknown) return false;
    successes_ = 0;
    ++failures_;
    ++failed_checks_;
    if (failures_ >= spec_.unhealthy_threshold) status_ = HealthStatus::critical;
  }
  return status_ != before;
}

bool HealthTracker::force(HealthStatus status, std::string output) {
  HealthStatus before = status_;
  status_ = status;
  last_output_ = std::move(output);
  successes_ = 0;
  failures_ = 0;
  return status_ != before;
}

void HealthTracker::reset(core::TimePoint started) {
  started_ = started;
  status_ = HealthStatus::unknown;
  successes_ = 0;
  failures_ = 0;
  last_check_.reset();
}

core::Duration HealthTracker::next_interval() const {
  bool healthy = status_ == HealthStatus::passing || status_ == HealthStatus::warning;
  if (healthy) return spec_.interval;
  if (spec_.unhealthy_interval.count() > 0) return spec_.unhealthy_interval;
  // Not passing (yet): probe at least every second, so a recovery or a
  // slow start is seen soon even when the interval is long.
  return std::min(spec_.interval, core::Duration(1000));
}

}  // namespace meshd::health
