// ControlLoop: the handlers still pending on the daemon's loop when it
// stops are destroyed by destroy_pending_handlers(), while what they reach
// (here the AsioScheduler their Timer cancels on) still lives; ~State
// relies on it (a health probe held by a pending connect used to outlive
// the scheduler and cancel its Timer on freed memory, under ASan).

#include "daemon/control_loop.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "meshd/core/asio_scheduler.hpp"

namespace meshd::daemon {
namespace {

namespace asio = boost::asio;

// What a health probe is to this bug: owned only by the handlers of its
// pending operations, with a deadline Timer on the scheduler.
struct Probe {
  Probe(core::Scheduler& scheduler, int& destroyed) : deadline(scheduler), destroyed_(destroyed) {
    deadline.arm(std::chrono::hours(1), [] {});
  }
  ~Probe() {
    EXPECT_TRUE(deadline.armed());  // cancelled now, on a scheduler that must still exist
    ++destroyed_;
  }
  core::Timer deadline;
  int& destroyed_;
};

TEST(ControlLoop, DestroysPendingHandlersWhileWhatTheyReachLives) {
  int destroyed = 0;
  core::SystemTimeSource clock;
  ControlLoop loop;
  auto scheduler = std::make_unique<core::AsioScheduler>(loop, clock);
  // One probe in a queued handler, one in a wait that will not complete for
  // an hour, one in an accept that no client will complete.
  asio::steady_timer wait(loop, std::chrono::hours(1));
  asio::ip::tcp::acceptor acceptor(loop, {asio::ip::make_address("127.0.0.1"), 0});
  {
    auto queued = std::make_shared<Probe>(*scheduler, destroyed);
    auto waiting = std::make_shared<Probe>(*scheduler, destroyed);
    auto accepting = std::make_shared<Probe>(*scheduler, destroyed);
    asio::post(loop, [queued] {});
    wait.async_wait([waiting](const boost::system::error_code&) {});
    acceptor.async_accept([accepting](const boost::system::error_code&, asio::ip::tcp::socket) {});
  }
  loop.run_for(std::chrono::milliseconds(10));  // runs the queued one: it goes
  EXPECT_EQ(destroyed, 1);
  loop.stop();  // as a shutdown stops it: the wait and the accept stay pending
  EXPECT_EQ(destroyed, 1);
  loop.destroy_pending_handlers();
  EXPECT_EQ(destroyed, 3);
  // Then, in ~State's order: the scheduler, the I/O objects, the loop.
  scheduler.reset();
  acceptor.close();
  loop.destroy_pending_handlers();  // again: a no-op
  EXPECT_EQ(destroyed, 3);
}

TEST(ControlLoop, DestroysWhatATeardownQueuedAfterTheFirstCall) {
  int destroyed = 0;
  core::SystemTimeSource clock;
  ControlLoop loop;
  core::AsioScheduler scheduler(loop, clock);
  loop.destroy_pending_handlers();
  asio::post(loop, [probe = std::make_shared<Probe>(scheduler, destroyed)] {});
  EXPECT_EQ(destroyed, 0);
  loop.destroy_pending_handlers();
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace meshd::daemon
