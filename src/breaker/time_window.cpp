#include "time_window.hpp"

#include <algorithm>
#include <chrono>

namespace meshd::breaker {
namespace {

std::int64_t second_of(core::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

TimeWindow::TimeWindow(core::Duration span)
    : buckets_(static_cast<std::size_t>(
          std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(span).count()))) {}

void TimeWindow::record(bool failure, bool slow, core::TimePoint now) {
  const std::int64_t second = second_of(now);
  Bucket& b = buckets_[static_cast<std::size_t>(second) % buckets_.size()];
  if (b.second != second) b = Bucket{second, {}};
  ++b.counts.calls;
  b.counts.failures += failure ? 1 : 0;
  b.counts.slow_calls += slow ? 1 : 0;
}

WindowCounts TimeWindow::counts(core::TimePoint now) const {
  const std::int64_t current = second_of(now);
  const auto span = static_cast<std::int64_t>(buckets_.size());
  WindowCounts total;
  for (const Bucket& b : buckets_) {
    if (b.second <= current - span || b.second > current) continue;
    total.calls += b.counts.calls;
    total.failures += b.counts.failures;
    total.slow_calls += b.counts.slow_calls;
  }
  return total;
}

void TimeWindow::clear() {
  std::fill(buckets_.begin(), buckets_.end(), Bucket{});
}

}  // namespace meshd::breaker
