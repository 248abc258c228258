#pragma once

#include <memory>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::breaker {

/// Call outcomes aggregated over a window.
struct WindowCounts {
  int calls = 0;
  int failures = 0;
  int slow_calls = 0;  // slow successes and slow failures alike

  double failure_rate() const { return calls ? static_cast<double>(failures) / calls : 0.0; }
  double slow_call_rate() const { return calls ? static_cast<double>(slow_calls) / calls : 0.0; }
};

/// The recent calls a closed breaker judges, by count or by time.
class SlidingWindow {
 public:
  virtual ~SlidingWindow();
  /// Adds one finished call.
  virtual void record(bool failure, bool slow, core::TimePoint now) = 0;
  /// The calls that are in the window at `now`.
  virtual WindowCounts counts(core::TimePoint now) const = 0;
  /// Forgets every call.
  virtual void clear() = 0;
};

/// The window `spec` asks for: CountWindow or TimeWindow.
std::unique_ptr<SlidingWindow> make_sliding_window(const config::CircuitBreakerSpec& spec);

}  // namespace meshd::breaker
