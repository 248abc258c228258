#pragma once

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "meshd/core/scheduler.hpp"

namespace meshd::testing {

/// Scheduler driven by a FakeClock: advance() fires due timers in time
/// order, moving the clock to each deadline, so hours of timers run in
/// microseconds and in a repeatable order.
class FakeScheduler final : public core::Scheduler {
 public:
  explicit FakeScheduler(FakeClock& clock) : clock_(clock) {}

  const core::TimeSource& clock() const override { return clock_; }
  TimerId schedule(core::Duration delay, std::function<void()> fn) override {
    TimerId id = next_id_++;
    timers_.emplace(std::make_pair(clock_.now() + delay, id), std::move(fn));
    return id;
  }
  void cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it)
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
  }
  void post(std::function<void()> fn) override { schedule(core::Duration(0), std::move(fn)); }

  /// Moves time forward by `d`, firing every timer that falls due.
  void advance(core::Duration d) {
    auto end = clock_.now() + d;
    while (!timers_.empty() && timers_.begin()->first.first <= end) {
      auto it = timers_.begin();
      clock_.set(std::max(clock_.now(), it->first.first));
      auto fn = std::move(it->second);
      timers_.erase(it);
      fn();
    }
    clock_.set(end);
  }
  /// Fires what is due now (posted callbacks).
  void run_ready() { advance(core::Duration(0)); }
  std::size_t pending() const { return timers_.size(); }

 private:
  FakeClock& clock_;
  TimerId next_id_ = 1;
  std::map<std::pair<core::TimePoint, TimerId>, std::function<void()>> timers_;
};

}  // namespace meshd::testing
