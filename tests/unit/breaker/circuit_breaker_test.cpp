#include "meshd/breaker/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::breaker {
namespace {

using namespace std::chrono_literals;
using Kind = config::CircuitBreakerSpec::WindowKind;

config::CircuitBreakerSpec spec() {
  config::CircuitBreakerSpec s;
  s.failure_rate = 0.5;
  s.window_kind = Kind::count;
  s.window_calls = 10;
  s.minimum_calls = 5;
  s.open_for = 10s;
  s.max_open_for = 40s;
  s.half_open_calls = 3;
  s.max_half_open = 30s;
  return s;
}

// One permitted call with an outcome. A refused permit fails the test at
// the call site (ASSERT_TRUE(call(...))): an ASSERT inside a void helper
// would only leave the helper and the test would run on.
[[nodiscard]] ::testing::AssertionResult call(CircuitBreaker& b, testing::FakeClock& clock, bool ok,
                                              core::Duration latency = 5ms) {
  if (!b.try_acquire(clock.now()))
    return ::testing::AssertionFailure()
           << "the breaker refused the call (" << to_string(b.state(clock.now())) << ")";
  if (ok)
    b.on_success(latency, clock.now());
  else
    b.on_failure(latency, clock.now());
  return ::testing::AssertionSuccess();
}

struct Transition {
  BreakerState from, to;
  std::string reason;
};

// Trips `b` with failures and runs the clock to the end of its open time;
// used as ASSERT_TRUE(trip_and_wait(...)).
[[nodiscard]] ::testing::AssertionResult trip_and_wait(CircuitBreaker& b,
                                                       testing::FakeClock& clock) {
  for (int i = 0; i < 5; ++i) {
    auto called = call(b, clock, false);
    if (!called) return called;
  }
  if (b.state(clock.now()) != BreakerState::open)
    return ::testing::AssertionFailure()
           << "five failures left it " << to_string(b.state(clock.now()));
  clock.set(*b.open_until());
  if (b.state(clock.now()) != BreakerState::half_open)
    return ::testing::AssertionFailure()
           << "after its open time it is " << to_string(b.state(clock.now()));
  return ::testing::AssertionSuccess();
}

TEST(CircuitBreaker, CountWindowTripsAtTheCallThatReachesTheRate) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (bool ok : {true, true, true, true, false, false, false}) ASSERT_TRUE(call(b, clock, ok));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);  // 3 of 7 = 43%
  ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);  // 4 of 8 = 50%
  EXPECT_FALSE(b.try_acquire(clock.now()));
}

TEST(CircuitBreaker, NothingTripsBeforeMinimumCalls) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);  // 100%, but only 4 calls
  ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
}

TEST(CircuitBreaker, AFullCountWindowIsEnoughEvenBelowMinimumCalls) {
  testing::FakeClock clock;
  auto s = spec();
  s.window_calls = 4;
  s.minimum_calls = 10;
  CircuitBreaker b(s);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
}

TEST(CircuitBreaker, CountWindowSlidesOverTheLastCalls) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(call(b, clock, true));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);  // 4 of the last 10
  ASSERT_TRUE(call(b, clock, false));  // 5 of the last 10; 5 of all 15 would be 33%
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
}

TEST(CircuitBreaker, TimeWindowForgetsOldCalls) {
  testing::FakeClock clock;
  auto s = spec();
  s.window_kind = Kind::time;
  s.window_time = 10s;
  CircuitBreaker b(s);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  clock.advance(11s);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);  // the first four have left
  EXPECT_EQ(b.stats(clock.now()).window.calls, 4);
  ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
}

TEST(CircuitBreaker, TimeWindowCountsCallsWithinIt) {
  testing::FakeClock clock;
  auto s = spec();
  s.window_kind = Kind::time;
  s.window_time = 10s;
  CircuitBreaker b(s);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));
  clock.advance(8s);
  ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
}

TEST(CircuitBreaker, SlowCallsTripIt) {
  testing::FakeClock clock;
  auto s = spec();
  s.slow_call_rate = 0.6;
  s.slow_call_duration = 1s;
  std::string reason;
  CircuitBreaker b(s, [&](BreakerState, BreakerState, const std::string& r) { reason = r; });
  ASSERT_TRUE(call(b, clock, true, 2s));
  ASSERT_TRUE(call(b, clock, true, 1s));  // at the threshold counts as slow
  ASSERT_TRUE(call(b, clock, true, 999ms));
  ASSERT_TRUE(call(b, clock, true, 10ms));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  ASSERT_TRUE(call(b, clock, true, 5s));  // 3 of 5 slow, all successful
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
  EXPECT_EQ(reason, "slow call rate 60% >= 60% (slow: >= 1s) over 5 calls; open for 10s");
}

TEST(CircuitBreaker, DefaultSlowRateNeedsEveryCallSlow) {
  testing::FakeClock clock;
  config::CircuitBreakerSpec s;  // slow_call_rate 100%, slow at 60 s
  CircuitBreaker b(s);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(call(b, clock, true, 61s));
  ASSERT_TRUE(call(b, clock, true, 1s));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
}

TEST(CircuitBreaker, OpenRejectsThenHalfOpenAdmitsExactlyTheTrialCalls) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call(b, clock, false));
  ASSERT_EQ(b.open_until(), clock.now() + 10s);
  clock.advance(9999ms);
  EXPECT_FALSE(b.try_acquire(clock.now()));
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
  clock.advance(1ms);
  EXPECT_EQ(b.state(clock.now()), BreakerState::half_open);
  EXPECT_EQ(b.open_until(), std::nullopt);
  EXPECT_TRUE(b.try_acquire(clock.now()));
  EXPECT_TRUE(b.try_acquire(clock.now()));
  EXPECT_TRUE(b.try_acquire(clock.now()));
  EXPECT_FALSE(b.try_acquire(clock.now()));
}

TEST(CircuitBreaker, SuccessfulTrialsCloseItWithAFreshWindowAndTheBaseOpenTime) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  ASSERT_TRUE(call(b, clock, false));  // 1 of 3 trials failing is below 50%
  ASSERT_TRUE(call(b, clock, true));
  EXPECT_EQ(b.state(clock.now()), BreakerState::half_open);
  ASSERT_TRUE(call(b, clock, true));
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  EXPECT_EQ(b.stats(clock.now()).consecutive_opens, 0);

  for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(b, clock, false));  // old failures are gone
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.open_until(), clock.now() + 10s);
}

TEST(CircuitBreaker, FailedTrialsReopenWithDoubledTimeUpToTheCap) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  for (core::Duration expected : {20s, 40s, 40s}) {
    ASSERT_TRUE(call(b, clock, false));
    ASSERT_TRUE(call(b, clock, false));
    ASSERT_TRUE(call(b, clock, true));
    ASSERT_EQ(b.state(clock.now()), BreakerState::open);
    EXPECT_EQ(*b.open_until() - clock.now(), expected);
    clock.set(*b.open_until());
  }
  EXPECT_EQ(b.stats(clock.now()).consecutive_opens, 4);
}

TEST(CircuitBreaker, HalfOpenReopensWhenTrialsNeverReport) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.try_acquire(clock.now()));
  clock.advance(29s);
  EXPECT_EQ(b.state(clock.now()), BreakerState::half_open);
  clock.advance(1s);
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
  EXPECT_EQ(*b.open_until() - clock.now(), 20s);  // a re-open doubles
}

TEST(CircuitBreaker, AfterMaxHalfOpenTheTrialsSoFarDecide) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  ASSERT_TRUE(call(b, clock, true));  // one good trial, then traffic stops
  clock.advance(30s);
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
}

TEST(CircuitBreaker, AnIdleHalfOpenBreakerWaitsForTraffic) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  clock.advance(1h);  // no calls at all: nothing to judge, no reason to re-open
  EXPECT_EQ(b.state(clock.now()), BreakerState::half_open);
  EXPECT_TRUE(b.try_acquire(clock.now()));
}

TEST(CircuitBreaker, CanAcquireDoesNotUseUpTrialSlots) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_FALSE(b.can_acquire(clock.now()));
  clock.advance(10s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.can_acquire(clock.now()));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_acquire(clock.now()));
  EXPECT_FALSE(b.can_acquire(clock.now()));
}

TEST(CircuitBreaker, ReleaseGivesTheTrialSlotToTheNextCall) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.try_acquire(clock.now()));
  EXPECT_FALSE(b.try_acquire(clock.now()));
  b.release(clock.now());  // the client went away
  EXPECT_TRUE(b.try_acquire(clock.now()));
}

TEST(CircuitBreaker, LateResultsOfCallsBeforeTheTripChangeNothing) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call(b, clock, false));
  for (int i = 0; i < 10; ++i) b.on_success(5ms, clock.now());  // in flight when it opened
  EXPECT_EQ(b.state(clock.now()), BreakerState::open);
  clock.set(*b.open_until());
  b.on_success(5ms, clock.now());  // not a trial: none was admitted
  EXPECT_EQ(b.state(clock.now()), BreakerState::half_open);
  EXPECT_EQ(b.stats(clock.now()).window.calls, 0);
}

TEST(CircuitBreaker, ForceOpenHoldsUntilAnOperatorClosesIt) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  b.force_open();
  EXPECT_EQ(b.state(clock.now()), BreakerState::forced_open);
  clock.advance(1h);
  EXPECT_FALSE(b.try_acquire(clock.now()));
  EXPECT_EQ(b.state(clock.now()), BreakerState::forced_open);
  b.close();
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  EXPECT_TRUE(b.try_acquire(clock.now()));
}

TEST(CircuitBreaker, CloseKeepsTheDoublingResetForgetsIt) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  ASSERT_TRUE(trip_and_wait(b, clock));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(call(b, clock, false));  // re-open for 20 s
  b.close();
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  EXPECT_EQ(b.stats(clock.now()).window.calls, 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(*b.open_until() - clock.now(), 40s);

  b.reset();
  EXPECT_EQ(b.state(clock.now()), BreakerState::closed);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(*b.open_until() - clock.now(), 10s);
}

TEST(CircuitBreaker, DisabledAlwaysAdmits) {
  testing::FakeClock clock;
  auto s = spec();
  s.enabled = false;
  CircuitBreaker b(s);
  EXPECT_EQ(b.state(clock.now()), BreakerState::disabled);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(call(b, clock, false));
  EXPECT_EQ(b.state(clock.now()), BreakerState::disabled);
  EXPECT_TRUE(b.try_acquire(clock.now()));
  b.force_open();  // an operator can still cut it off
  EXPECT_FALSE(b.try_acquire(clock.now()));
  b.close();
  EXPECT_EQ(b.state(clock.now()), BreakerState::disabled);
}

TEST(CircuitBreaker, EveryTransitionIsReportedWithItsReason) {
  testing::FakeClock clock;
  std::vector<Transition> seen;
  CircuitBreaker b(spec());
  b.set_on_transition([&](BreakerState from, BreakerState to, const std::string& reason) {
    seen.push_back({from, to, reason});
  });
  for (bool ok : {true, false, true, false, false}) ASSERT_TRUE(call(b, clock, ok));
  clock.advance(10s);
  for (bool ok : {false, false, true}) ASSERT_TRUE(call(b, clock, ok));
  clock.advance(20s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(call(b, clock, true));
  b.force_open();
  b.reset();

  ASSERT_EQ(seen.size(), 7u);
  auto expect = [&](std::size_t i, BreakerState from, BreakerState to, const std::string& reason) {
    EXPECT_EQ(seen[i].from, from) << i;
    EXPECT_EQ(seen[i].to, to) << i;
    EXPECT_EQ(seen[i].reason, reason) << i;
  };
  using S = BreakerState;
  expect(0, S::closed, S::open, "failure rate 60% >= 50% over 5 calls; open for 10s");
  expect(1, S::open, S::half_open, "open time over, admitting 3 trial calls");
  expect(2, S::half_open, S::open, "failure rate 67% >= 50% over 3 trial calls; open for 20s");
  expect(3, S::open, S::half_open, "open time over, admitting 3 trial calls");
  expect(4, S::half_open, S::closed, "failure rate 0% < 50% over 3 trial calls");
  expect(5, S::closed, S::forced_open, "forced open by an operator");
  expect(6, S::forced_open, S::closed, "reset by an operator");
}

TEST(CircuitBreaker, StatsShowTheWindow) {
  testing::FakeClock clock;
  CircuitBreaker b(spec());
  for (bool ok : {true, false, true, true}) ASSERT_TRUE(call(b, clock, ok));
  BreakerStats s = b.stats(clock.now());
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.window.calls, 4);
  EXPECT_EQ(s.window.failures, 1);
  EXPECT_DOUBLE_EQ(s.window.failure_rate(), 0.25);
  EXPECT_FALSE(s.open_until);
}

TEST(BreakerState, NamesAreTheApiSpelling) {
  EXPECT_STREQ(to_string(BreakerState::closed), "closed");
  EXPECT_STREQ(to_string(BreakerState::open), "open");
  EXPECT_STREQ(to_string(BreakerState::half_open), "half_open");
  EXPECT_STREQ(to_string(BreakerState::forced_open), "forced_open");
  EXPECT_STREQ(to_string(BreakerState::disabled), "disabled");
}

}  // namespace
}  // namespace meshd::breaker
