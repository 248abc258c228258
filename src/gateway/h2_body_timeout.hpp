#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// When an instance's response body has stalled (h2_upstream_connection.cpp
// and h2_h1_call.cpp time it): once the head is in, the service's `timeout`
// is the body's idle timeout, as body_timeout is each read of a body on the
// HTTP/1.1 path, and a gRPC call's grpc-timeout bounds it whole. Pure: the
// caller's timer passes the time in.

#include <chrono>
#include <optional>
#include <string>

#include "h2_stream.hpp"

namespace meshd::gateway::h2 {

using SteadyTime = std::chrono::steady_clock::time_point;

struct BodyTimeout {
  std::chrono::steady_clock::duration idle{};
  std::optional<SteadyTime> call_deadline;  // a gRPC call's grpc-timeout

  /// When the timer should look next, the body's last activity at `last`.
  SteadyTime due(SteadyTime last) const;
  /// Looked at `now`: why the call ends, or nothing (the timer goes on to
  /// due(last)). While the client has not taken all that came
  /// (`client_behind`) the instance cannot be stalling: `last` moves to `now`.
  std::optional<std::string> expired(SteadyTime now, SteadyTime& last, bool client_behind) const;
};

/// The stream's: its service's timeout, its grpc-timeout.
BodyTimeout body_timeout_for(const Stream& s);

}  // namespace meshd::gateway::h2
