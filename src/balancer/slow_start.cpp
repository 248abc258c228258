#include "meshd/balancer/slow_start.hpp"

#include <algorithm>
#include <chrono>

namespace meshd::balancer {

double slow_start_factor(const Host& host, core::TimePoint now, core::Duration window) {
  if (window <= core::Duration::zero()) return 1.0;
  const std::chrono::duration<double> elapsed = now - host.joined;
  const std::chrono::duration<double> span = window;
  const double progress = std::clamp(elapsed / span, 0.0, 1.0);
  return kSlowStartMinFactor + (1.0 - kSlowStartMinFactor) * progress;
}

double effective_weight(const Host& host, core::TimePoint now, core::Duration window) {
  return std::max(host.weight, 1) * slow_start_factor(host, now, window);
}

}  // namespace meshd::balancer
