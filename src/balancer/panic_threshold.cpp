#include "meshd/balancer/panic_threshold.hpp"

namespace meshd::balancer {

std::vector<Host*> apply_panic_threshold(const std::vector<Host*>& eligible,
                                         const std::vector<Host*>& all, double threshold,
                                         bool* panicking) {
  const bool panic =
      threshold > 0.0 && !all.empty() &&
      static_cast<double>(eligible.size()) < threshold * static_cast<double>(all.size());
  if (panicking) *panicking = panic;
  return panic ? all : eligible;
}

}  // namespace meshd::balancer
