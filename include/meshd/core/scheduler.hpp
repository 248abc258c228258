#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "meshd/core/clock.hpp"

namespace meshd::core {

/// Runs callbacks later on the control-plane loop. The daemon's
/// implementation uses Asio timers (src/core/asio_scheduler.cpp); unit tests
/// use tests/fakes/fake_scheduler.hpp, driven by a fake clock. Pure-logic
/// classes that need "later" take a Scheduler& instead of an io_context.
class Scheduler {
 public:
  using TimerId = std::uint64_t;
  virtual ~Scheduler() = default;
  virtual const TimeSource& clock() const = 0;
  /// Calls `fn` once, `delay` from now, unless cancelled first.
  virtual TimerId schedule(Duration delay, std::function<void()> fn) = 0;
  /// Cancels a pending timer; cancelling a fired or unknown id is a no-op.
  virtual void cancel(TimerId id) = 0;
  /// Calls `fn` on the loop soon, after the current handler returns.
  virtual void post(std::function<void()> fn) = 0;
};

/// A timer slot that cancels what it holds when re-armed or destroyed, so an
/// owner can never leave a callback pointing at itself after it is gone.
class Timer {
 public:
  explicit Timer(Scheduler& scheduler) : scheduler_(&scheduler) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm(Duration delay, std::function<void()> fn) {
    cancel();
    id_ = scheduler_->schedule(delay, [this, fn = std::move(fn)] {
      id_ = 0;
      fn();
    });
  }
  void cancel() {
    if (id_ != 0) scheduler_->cancel(id_);
    id_ = 0;
  }
  bool armed() const { return id_ != 0; }

 private:
  Scheduler* scheduler_;
  Scheduler::TimerId id_ = 0;
};

}  // namespace meshd::core
