// When an instance's response body has stalled (see h2_body_timeout.hpp).
#include "h2_body_timeout.hpp"

#include <algorithm>

namespace meshd::gateway::h2 {

SteadyTime BodyTimeout::due(SteadyTime last) const {
  auto at = last + idle;
  return call_deadline ? std::min(at, *call_deadline) : at;
}

std::optional<std::string> BodyTimeout::expired(SteadyTime now, SteadyTime& last,
                                                bool client_behind) const {
  if (call_deadline && now >= *call_deadline) return "the call's grpc-timeout has passed";
  if (client_behind) last = now;
  if (now < last + idle) return std::nullopt;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(idle).count();
  return "no response data within " + std::to_string(ms) + "ms";
}

BodyTimeout body_timeout_for(const Stream& s) {
  BodyTimeout t;
  t.idle = std::chrono::duration_cast<std::chrono::steady_clock::duration>(s.route->spec().timeout);
  t.call_deadline = s.grpc_deadline;
  return t;
}

}  // namespace meshd::gateway::h2
