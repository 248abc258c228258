#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <algorithm>
#include <boost/asio/basic_waitable_timer.hpp>
#include <chrono>
#include <memory>

#include "gateway_context.hpp"

namespace meshd::gateway {

/// The two deadlines of one proxied connection, its client side and its
/// upstream side, watched by one timer. Moving a deadline later, as every
/// request does, only stores it: the timer is re-armed when a deadline
/// comes before the one it already waits for, and when it fires it reports
/// what is overdue and waits for the next. Beast's basic_stream instead arms
/// and cancels a timer around every read and write, which costs a timer
/// queue update and an extra completion each time.
///
/// Deadlines are kept in the clock of the timer that waits for them, the
/// io_context's steady_clock, not the gateway's core::TimeSource: they say
/// when a socket gives up, they measure nothing that stats or breakers see.
///
/// `Owner` is a std::enable_shared_from_this with
/// `void on_deadline(ConnectionDeadlines::Side)`; the pending wait keeps it
/// alive until cancel().
template <class Owner>
class ConnectionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Side { client, upstream };
  static constexpr Clock::time_point kNever = Clock::time_point::max();

  ConnectionDeadlines(Executor executor, Owner& owner) : timer_(executor), owner_(owner) {}

  void set(Side side, Clock::duration after) {
    auto t = Clock::now() + after;
    at(side) = t;
    arm_before(t);
  }
  void clear(Side side) { at(side) = kNever; }
  void cancel() {
    client_ = upstream_ = armed_ = kNever;
    timer_.cancel();
  }

 private:
  Clock::time_point& at(Side side) { return side == Side::client ? client_ : upstream_; }

  void arm_before(Clock::time_point t) {
    if (t >= armed_) return;
    armed_ = t;
    timer_.expires_at(t);
    timer_.async_wait([this, self = owner_.shared_from_this()](boost::system::error_code ec) {
      if (!ec) fired();
    });
  }

  void fired() {
    armed_ = kNever;
    auto now = Clock::now();
    if (client_ <= now) {
      client_ = kNever;
      owner_.on_deadline(Side::client);
    }
    if (upstream_ <= now) {
      upstream_ = kNever;
      owner_.on_deadline(Side::upstream);
    }
    auto next = std::min(client_, upstream_);
    if (next != kNever) arm_before(next);
  }

  boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Executor> timer_;
  Owner& owner_;
  Clock::time_point armed_ = kNever, client_ = kNever, upstream_ = kNever;
};

}  // namespace meshd::gateway
