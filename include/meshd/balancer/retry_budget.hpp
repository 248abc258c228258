#pragma once

#include <array>
#include <cstdint>

#include "meshd/core/clock.hpp"

namespace meshd::balancer {

/// Caps retries at a share of requests so that retries cannot multiply load
/// on a struggling service (a retry storm). Counts requests and retries in a
/// sliding window of one-second buckets.
///
/// A retry is allowed while retries in the window stay within
/// max(budget x requests, min_retries_per_second x window seconds). The
/// floor lets a client with little traffic still retry (with the defaults,
/// 30 retries per 10 s); above it, retries never exceed `budget` of requests.
/// A budget of 0 allows no retries at all.
class RetryBudget {
 public:
  /// `budget`: 0..1 share of requests. `window`: whole seconds, 1..60.
  explicit RetryBudget(double budget, core::Duration window = core::Duration(10000),
                       int min_retries_per_second = 3);

  /// Counts an original request (not a retry).
  void on_request(core::TimePoint now);

  /// True, and counts the retry, when the budget allows one now.
  bool try_retry(core::TimePoint now);

  /// Requests and retries counted in the window ending at `now`.
  int requests(core::TimePoint now) const;
  int retries(core::TimePoint now) const;

  static constexpr int kMaxWindowSeconds = 60;

 private:
  struct Bucket {
    std::int64_t second = -1;
    int requests = 0;
    int retries = 0;
  };
  Bucket& bucket_at(core::TimePoint now);
  template <typename F>
  int sum(core::TimePoint now, F field) const;

  double budget_;
  int seconds_;
  int min_retries_per_second_;
  std::array<Bucket, kMaxWindowSeconds> buckets_{};
};

/// Delay before retry number `attempt` (1 = first retry): exponential,
/// base x 2^(attempt-1), capped at 10 x base, with equal jitter: half of it
/// fixed, the other half scaled by `random01` in [0, 1). Equal rather than
/// full jitter so a retry never fires at once into the failure it follows.
core::Duration retry_backoff(core::Duration base, int attempt, double random01);

}  // namespace meshd::balancer
