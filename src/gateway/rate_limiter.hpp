#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/error.hpp"

namespace meshd::gateway {

/// A service's `rate_limit:` (docs/traffic.md): a token bucket per key
/// (client IP, a header's value, or one shared bucket), refilled at `rps`
/// tokens a second up to `burst`; each request takes one. At most
/// `max_keys` buckets are kept: past that, the least recently used bucket
/// goes, so a flood of distinct keys costs bounded memory (a key whose
/// bucket went starts again full, which errs on the side of admitting).
///
/// The bucket is kept as the time it will next be full (GCRA's
/// "theoretical arrival time"), in the clock's integer nanoseconds: adding
/// fractions of a token per request in floating point drifts (0.1 added
/// ten times is less than 1) and admitted 10% under the rate.
///
/// O(1) a request: a hash map from key to a node of a recency list.
/// Thread-safe: gateway loops on several threads share one service's
/// limiter, and a mutex is held only for the one bucket's update (a lookup,
/// a little arithmetic and a list splice), far shorter than the request's
/// own system calls.
class RateLimiter {
 public:
  explicit RateLimiter(const config::RateLimitSpec& spec);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// Takes a token from `key`'s bucket. False when it has none: then
  /// `retry_after` is the whole seconds (at least 1) until it has one.
  bool admit(std::string_view key, core::TimePoint now, int& retry_after);

  /// Buckets kept now (at most spec().max_keys).
  std::size_t keys() const;
  const config::RateLimitSpec& spec() const { return spec_; }

 private:
  struct Bucket {
    std::string key;
    core::TimePoint full_at{};  // no earlier than this, the bucket holds `burst` tokens
  };
  using Recency = std::list<Bucket>;  // most recently used first

  const config::RateLimitSpec spec_;
  const core::TimePoint::duration interval_;  // one token's worth of time: 1/rps
  const core::TimePoint::duration capacity_;  // burst tokens' worth
  mutable std::mutex mutex_;
  Recency recency_;
  // Keys are views of the buckets' own strings: list nodes do not move.
  std::unordered_map<std::string_view, Recency::iterator> buckets_;
};

/// The gateway's answer to a request over `service`'s limit: rate_limited
/// (429, or gRPC's RESOURCE_EXHAUSTED), saying the limit and the wait.
core::Error rate_limited_error(std::string_view service, const config::RateLimitSpec& spec,
                               int retry_after);

}  // namespace meshd::gateway
