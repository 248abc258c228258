#include "meshd/balancer/retry_budget.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace meshd::balancer {
namespace {

std::int64_t second_of(core::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

RetryBudget::RetryBudget(double budget, core::Duration window, int min_retries_per_second)
    : budget_(std::clamp(budget, 0.0, 1.0)),
      seconds_(std::clamp(static_cast<int>(std::chrono::ceil<std::chrono::seconds>(window).count()),
                          1, kMaxWindowSeconds)),
      min_retries_per_second_(std::max(min_retries_per_second, 0)) {}

RetryBudget::Bucket& RetryBudget::bucket_at(core::TimePoint now) {
  const std::int64_t second = second_of(now);
  Bucket& b = buckets_[static_cast<std::size_t>(second % seconds_)];
  if (b.second != second) b = Bucket{second, 0, 0};
  return b;
}

template <typename F>
int RetryBudget::sum(core::TimePoint now, F field) const {
  const std::int64_t current = second_of(now);
  int total = 0;
  for (int i = 0; i < seconds_; ++i) {
    const Bucket& b = buckets_[static_cast<std::size_t>(i)];
    if (b.second > current - seconds_ && b.second <= current) total += field(b);
  }
  return total;
}

int RetryBudget::requests(core::TimePoint now) const {
  return sum(now, [](const Bucket& b) { return b.requests; });
}

int RetryBudget::retries(core::TimePoint now) const {
  return sum(now, [](const Bucket& b) { return b.retries; });
}

void RetryBudget::on_request(core::TimePoint now) {
  ++bucket_at(now).requests;
}

bool RetryBudget::try_retry(core::TimePoint now) {
  if (budget_ <= 0.0) return false;
  const double allowance =
      std::max(budget_ * requests(now), static_cast<double>(min_retries_per_second_) * seconds_);
  if (retries(now) + 1 > allowance) return false;
  ++bucket_at(now).retries;
  return true;
}

core::Duration retry_backoff(core::Duration base, int attempt, double random01) {
  if (base <= core::Duration::zero()) return core::Duration::zero();
  constexpr int kCapMultiple = 10;
  // 2^(attempt-1), stopping once past the cap so large attempts cannot overflow.
  long long multiple = 1;
  for (int i = 1; i < attempt && multiple < kCapMultiple; ++i) multiple *= 2;
  const double ceiling =
      static_cast<double>(base.count() * std::min<long long>(multiple, kCapMultiple));
  const double jitter = std::clamp(random01, 0.0, 1.0);
  return core::Duration(std::llround(ceiling / 2 + ceiling / 2 * jitter));
}

}  // namespace meshd::balancer
