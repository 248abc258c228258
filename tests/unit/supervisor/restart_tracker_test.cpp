#include "meshd/supervisor/restart_tracker.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;

config::RestartSpec spec() {
  config::RestartSpec s;
  s.backoff.initial = 500ms;
  s.backoff.max = 4s;
  s.max_restarts = 5;
  s.window = 60s;
  s.reset_after = 30s;
  return s;
}

TEST(RestartTracker, DelaysGrowExponentiallyUpToTheCap) {
  testing::FakeClock clock;
  RestartTracker t(spec());
  std::vector<long long> delays;
  for (int i = 0; i < 5; ++i) {
    auto started = clock.now();
    clock.advance(100ms);
    auto d = t.on_crash(started, clock.now(), 1.0);
    ASSERT_TRUE(d);
    delays.push_back(d->count());
  }
  EXPECT_EQ(delays, (std::vector<long long>{500, 1000, 2000, 4000, 4000}));
}

TEST(RestartTracker, JitterScalesEachDelayBetweenEightyAndHundredPercent) {
  testing::FakeClock clock;
  RestartTracker low(spec()), high(spec());
  auto started = clock.now();
  EXPECT_EQ(low.on_crash(started, clock.now(), 0.0)->count(), 400);
  EXPECT_EQ(high.on_crash(started, clock.now(), 0.999)->count(), 499);
  // Even with the lowest jitter the next delay exceeds the largest previous one.
  EXPECT_GT(low.on_crash(started, clock.now(), 0.0)->count(), 500);
}

TEST(RestartTracker, GivesUpAfterMaxRestartsWithinTheWindow) {
  testing::FakeClock clock;
  RestartTracker t(spec());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(t.on_crash(clock.now(), clock.now(), 0.5)) << i;
    clock.advance(1s);
  }
  EXPECT_FALSE(t.on_crash(clock.now(), clock.now(), 0.5));
  EXPECT_EQ(t.total_restarts(), 5);
}

TEST(RestartTracker, RestartsOutsideTheWindowNoLongerCount) {
  testing::FakeClock clock;
  RestartTracker t(spec());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t.on_crash(clock.now(), clock.now(), 0.5));
  clock.advance(61s);
  EXPECT_TRUE(t.on_crash(clock.now(), clock.now(), 0.5));
}

TEST(RestartTracker, ALongRunResetsTheBackoff) {
  testing::FakeClock clock;
  RestartTracker t(spec());
  auto started = clock.now();
  t.on_crash(started, clock.now(), 1.0);
  t.on_crash(started, clock.now(), 1.0);
  started = clock.now();
  clock.advance(31s);  // ran longer than reset_after
  EXPECT_EQ(t.on_crash(started, clock.now(), 1.0)->count(), 500);
}

TEST(RestartTracker, ZeroMaxRestartsMeansNoLimit) {
  testing::FakeClock clock;
  auto s = spec();
  s.max_restarts = 0;
  RestartTracker t(s);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.on_crash(clock.now(), clock.now(), 0.5));
}

TEST(RestartTracker, ClearForgetsPastCrashes) {
  testing::FakeClock clock;
  RestartTracker t(spec());
  for (int i = 0; i < 5; ++i) t.on_crash(clock.now(), clock.now(), 1.0);
  t.clear();
  EXPECT_EQ(t.on_crash(clock.now(), clock.now(), 1.0)->count(), 500);
}

}  // namespace
}  // namespace meshd::supervisor
