#pragma once

#include <chrono>

namespace meshd::core {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = std::chrono::milliseconds;
using WallTime = std::chrono::system_clock::time_point;

/// Source of the current time. The daemon uses SystemTimeSource; tests pass a
/// FakeClock (tests/fakes/fake_clock.hpp) and advance it instead of sleeping.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  /// Monotonic time for every timeout, window and backoff.
  virtual TimePoint now() const = 0;
  /// Wall-clock time, used only for timestamps shown to operators.
  virtual WallTime wall_now() const = 0;
};

/// The real clocks.
class SystemTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

/// Milliseconds since the Unix epoch, the form timestamps take in JSON.
inline long long to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace meshd::core
