#include "meshd/gateway/traffic_stats.hpp"

#include <algorithm>

namespace meshd::gateway {

namespace {
std::int64_t second_of(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

void TrafficStats::roll(core::TimePoint now) {
  auto s = second_of(now);
  if (s == second_) return;
  if (second_ >= 0 && s == second_ + 1) {
    Summary sum;
    sum.requests = sec_requests_;
    sum.rps = static_cast<double>(sec_requests_);
    sum.error_rate =
        sec_requests_ ? static_cast<double>(sec_errors_) / static_cast<double>(sec_requests_) : 0.0;
    if (!sec_samples_.empty()) {
      std::sort(sec_samples_.begin(), sec_samples_.end());
      auto at = [&](double q) {
        auto i = static_cast<std::size_t>(q * static_cast<double>(sec_samples_.size() - 1));
        return sec_samples_[i];
      };
      sum.p50_ms = at(0.5);
      sum.p99_ms = at(0.99);
    }
    last_ = sum;
  } else {
    last_ = Summary{};  // a gap: the last complete second had no traffic
  }
  second_ = s;
  sec_requests_ = sec_errors_ = sec_seen_ = 0;
  sec_samples_.clear();
}

const std::vector<double>& TrafficStats::latency_bounds() {
  static const std::vector<double> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return bounds;
}

void TrafficStats::record(int status, std::chrono::microseconds latency, core::TimePoint now) {
  roll(now);
  ++requests_;
  ++sec_requests_;
  int cls = std::clamp(status / 100, 1, 5) - 1;
  ++by_class_[static_cast<std::size_t>(cls)];
  if (status >= 500) {
    ++errors_;
    ++sec_errors_;
  }
  double ms = static_cast<double>(latency.count()) / 1000.0;
  double seconds = ms / 1000.0;
  const auto& bounds = latency_bounds();
  auto bucket = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) -
                                         bounds.begin());
  ++latency_counts_[bucket];
  latency_sum_ += seconds;
  ++sec_seen_;
  if (sec_samples_.size() < kMaxSamples) {
    sec_samples_.push_back(ms);
  } else {
    // Reservoir sampling keeps a uniform sample of the whole second.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    auto j = rng_ % sec_seen_;
    if (j < kMaxSamples) sec_samples_[j] = ms;
  }
}

TrafficStats::Summary TrafficStats::last_second(core::TimePoint now) {
  roll(now);
  return last_;
}

}  // namespace meshd::gateway
