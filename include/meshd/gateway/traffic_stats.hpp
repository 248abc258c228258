#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "meshd/core/clock.hpp"

namespace meshd::gateway {

/// Request counters of one service, for /metrics, the dashboard and the
/// `metrics` stream topic. The per-second summary keeps at most
/// kMaxSamples latencies per second (a reservoir), so p99 costs no more at
/// 50k requests/s than at 50.
class TrafficStats {
 public:
  static constexpr std::size_t kMaxSamples = 1024;

  void record(int status, std::chrono::microseconds latency, core::TimePoint now);
  void record_retry() { ++retries_; }
  void record_rejected() { ++rejected_; }          // 503: nothing could take it
  void record_rate_limited() { ++rate_limited_; }  // 429: over the service's rate_limit
  /// An upgraded connection (WebSocket) opened or closed.
  void upgrade_opened() { ++upgraded_; }
  void upgrade_closed() { --upgraded_; }
  /// Upgraded connections relaying now.
  std::uint64_t upgraded() const { return upgraded_; }

  std::uint64_t requests() const { return requests_; }
  std::uint64_t errors() const { return errors_; }  // 5xx, including ours (502/503/504)
  std::uint64_t retries() const { return retries_; }
  std::uint64_t rejected() const { return rejected_; }
  std::uint64_t rate_limited() const { return rate_limited_; }
  /// Responses by class: [1xx, 2xx, 3xx, 4xx, 5xx].
  const std::array<std::uint64_t, 5>& by_class() const { return by_class_; }

  /// Latency histogram (seconds) for /metrics: upper bounds, and counts per
  /// bucket (not cumulative) with one more for +Inf.
  static const std::vector<double>& latency_bounds();
  const std::vector<std::uint64_t>& latency_counts() const { return latency_counts_; }
  double latency_sum_seconds() const { return latency_sum_; }

  struct Summary {
    double rps = 0;
    double error_rate = 0;  // 0..1
    double p50_ms = 0;
    double p99_ms = 0;
    std::uint64_t requests = 0;
  };
  /// The last complete second's summary, as of `now`.
  Summary last_second(core::TimePoint now);

 private:
  void roll(core::TimePoint now);

  std::uint64_t requests_ = 0, errors_ = 0, retries_ = 0, rejected_ = 0, upgraded_ = 0;
  std::uint64_t rate_limited_ = 0;
  std::array<std::uint64_t, 5> by_class_{};
  std::vector<std::uint64_t> latency_counts_ =
      std::vector<std::uint64_t>(latency_bounds().size() + 1, 0);
  double latency_sum_ = 0;
  std::int64_t second_ = -1;
  std::uint64_t sec_requests_ = 0, sec_errors_ = 0, sec_seen_ = 0;
  std::vector<double> sec_samples_;
  Summary last_{};
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace meshd::gateway
