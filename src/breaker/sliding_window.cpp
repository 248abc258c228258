#include "meshd/breaker/sliding_window.hpp"

#include "count_window.hpp"
#include "time_window.hpp"

namespace meshd::breaker {

SlidingWindow::~SlidingWindow() = default;

std::unique_ptr<SlidingWindow> make_sliding_window(const config::CircuitBreakerSpec& spec) {
  if (spec.window_kind == config::CircuitBreakerSpec::WindowKind::time)
    return std::make_unique<TimeWindow>(spec.window_time);
  return std::make_unique<CountWindow>(spec.window_calls);
}

}  // namespace meshd::breaker
