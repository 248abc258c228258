#pragma once

#include <vector>

#include "meshd/balancer/host.hpp"

namespace meshd::balancer {

/// Envoy's panic mode: when fewer than `threshold` (0..1) of `all` hosts are
/// `eligible`, the health signals are presumed wrong (or the remaining hosts
/// would be overloaded), so traffic goes to `all` hosts instead. Threshold 0
/// never panics: it fails closed and returns `eligible`, possibly empty.
/// `all` is whatever the caller will accept in a panic, typically every
/// member that is not drained or in maintenance. `panicking` (may be null)
/// says whether the panic set was returned.
std::vector<Host*> apply_panic_threshold(const std::vector<Host*>& eligible,
                                         const std::vector<Host*>& all, double threshold,
                                         bool* panicking);

}  // namespace meshd::balancer
