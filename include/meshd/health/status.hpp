#pragma once

#include <string>

#include "meshd/core/clock.hpp"

namespace meshd::health {

/// Instance health, as in SPEC section 3.
enum class HealthStatus { unknown, passing, warning, critical };

const char* to_string(HealthStatus status);

/// The outcome of one probe.
struct CheckResult {
  HealthStatus status = HealthStatus::unknown;  // passing, warning or critical
  std::string output;                           // bounded, shown by explain
  core::Duration duration{0};
};

/// Longest check output kept, so a check that prints megabytes costs nothing.
inline constexpr std::size_t kMaxCheckOutput = 4096;

}  // namespace meshd::health
