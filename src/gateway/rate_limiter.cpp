#include "rate_limiter.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace meshd::gateway {

namespace {

core::TimePoint::duration token_interval(double rps) {
  // rps is above 0 (the parser's rule); at least a nanosecond a token.
  double ns = 1e9 / std::max(rps, 1e-9);
  return core::TimePoint::duration(std::max<std::int64_t>(1, std::llround(std::min(ns, 1e18))));
}

}  // namespace

RateLimiter::RateLimiter(const config::RateLimitSpec& spec)
    : spec_(spec),
      interval_(token_interval(spec.rps)),
      capacity_(interval_ * std::max(spec.burst, 1)) {
  buckets_.reserve(std::min<std::size_t>(spec_.max_keys, 1024));
}

bool RateLimiter::admit(std::string_view key, core::TimePoint now, int& retry_after) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  Recency::iterator bucket;
  if (it == buckets_.end()) {
    if (buckets_.size() >= std::max<std::size_t>(spec_.max_keys, 1)) {
      // Past max_keys: the least recently used bucket is forgotten.
      buckets_.erase(std::string_view(recency_.back().key));
      recency_.pop_back();
    }
    recency_.push_front(Bucket{std::string(key), now});  // a new key starts full
    bucket = recency_.begin();
    buckets_.emplace(std::string_view(bucket->key), bucket);
  } else {
    bucket = it->second;
    recency_.splice(recency_.begin(), recency_, bucket);  // now the most recent
  }
  // Taking a token moves "full at" one interval later; the bucket is empty
  // when that would be more than `burst` intervals from now.
  auto next = std::max(bucket->full_at, now) + interval_;
  auto over = next - now - capacity_;
  if (over <= core::TimePoint::duration::zero()) {
    bucket->full_at = next;
    return true;
  }
  double seconds = std::ceil(std::chrono::duration<double>(over).count());
  retry_after = static_cast<int>(std::clamp(seconds, 1.0, 86400.0));
  return false;
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

core::Error rate_limited_error(std::string_view service, const config::RateLimitSpec& spec,
                               int retry_after) {
  char rps[32];
  auto end = std::to_chars(rps, rps + sizeof rps, spec.rps).ptr;
  return core::make_error(core::ErrorCode::rate_limited,
                          "over the rate limit of service '" + std::string(service) + "' (" +
                              std::string(rps, end) + " requests a second, burst " +
                              std::to_string(spec.burst) + "); retry after " +
                              std::to_string(retry_after) + "s");
}

}  // namespace meshd::gateway
