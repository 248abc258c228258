#include "meshd/balancer/host.hpp"

namespace meshd::balancer {

void Host::record_latency(core::Duration latency) {
  const auto sample = static_cast<double>(latency.count());
  if (!has_latency_) {
    // The first sample is the best estimate there is; averaging it with 0
    // would make a new host look fast for several requests.
    latency_ewma_ms_ = sample;
    has_latency_ = true;
    return;
  }
  latency_ewma_ms_ += kLatencyDecay * (sample - latency_ewma_ms_);
}

}  // namespace meshd::balancer
