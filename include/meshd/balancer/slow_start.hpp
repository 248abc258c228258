#pragma once

#include "meshd/balancer/host.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::balancer {

/// Share of its weight a host gets right after joining.
inline constexpr double kSlowStartMinFactor = 0.1;

/// How much of its weight `host` gets at `now`: ramps linearly from
/// kSlowStartMinFactor when it joined to 1 at `joined + window`. 1 when the
/// window is zero or has passed. The API shows it as "slow-starting at N%".
double slow_start_factor(const Host& host, core::TimePoint now, core::Duration window);

/// The weight a weight-aware policy uses: the static weight (at least 1)
/// times the slow-start factor.
double effective_weight(const Host& host, core::TimePoint now, core::Duration window);

}  // namespace meshd::balancer
