#include "count_window.hpp"

#include <algorithm>

namespace meshd::breaker {

CountWindow::CountWindow(int size) : size_(static_cast<std::size_t>(std::max(size, 1))) {
  outcomes_.reserve(size_);
}

void CountWindow::record(bool failure, bool slow, core::TimePoint /*now*/) {
  const std::uint8_t flags =
      static_cast<std::uint8_t>((failure ? kFailure : 0) | (slow ? kSlow : 0));
  if (outcomes_.size() < size_) {
    outcomes_.push_back(flags);
    ++totals_.calls;
  } else {
    // Full: the oldest call drops out as this one goes in.
    const std::uint8_t old = outcomes_[next_];
    totals_.failures -= (old & kFailure) ? 1 : 0;
    totals_.slow_calls -= (old & kSlow) ? 1 : 0;
    outcomes_[next_] = flags;
    next_ = (next_ + 1) % outcomes_.size();
  }
  totals_.failures += failure ? 1 : 0;
  totals_.slow_calls += slow ? 1 : 0;
}

WindowCounts CountWindow::counts(core::TimePoint /*now*/) const {
  return totals_;
}

void CountWindow::clear() {
  outcomes_.clear();
  next_ = 0;
  totals_ = {};
}

}  // namespace meshd::breaker
