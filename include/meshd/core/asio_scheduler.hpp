#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>

#include "meshd/core/scheduler.hpp"

namespace meshd::core {

/// Scheduler on an io_context: one steady_timer per pending callback.
class AsioScheduler final : public Scheduler {
 public:
  AsioScheduler(boost::asio::io_context& io, const TimeSource& clock) : io_(io), clock_(clock) {}
  ~AsioScheduler() override;

  const TimeSource& clock() const override { return clock_; }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  void post(std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
  const TimeSource& clock_;
  TimerId next_id_ = 1;
  std::unordered_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace meshd::core
