#include "meshd/health/health_tracker.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::health {
namespace {

using namespace std::chrono_literals;

CheckResult pass() {
  return {HealthStatus::passing, "ok", core::Duration(0)};
}
CheckResult fail() {
  return {HealthStatus::critical, "boom", core::Duration(0)};
}
CheckResult warn() {
  return {HealthStatus::warning, "meh", core::Duration(0)};
}

config::HealthSpec spec(int healthy, int unhealthy,
                        core::Duration start_period = core::Duration(0)) {
  config::HealthSpec s;
  s.type = config::CheckType::http;
  s.healthy_threshold = healthy;
  s.unhealthy_threshold = unhealthy;
  s.start_period = start_period;
  return s;
}

TEST(HealthTracker, ThresholdsHoldFromTheFirstResult) {
  testing::FakeClock clock;
  HealthTracker t(spec(2, 3), clock.now());
  EXPECT_FALSE(t.record(pass(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::unknown);  // one pass is not two
  EXPECT_TRUE(t.record(pass(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::passing);
}

TEST(HealthTracker, FirstFailuresNeedTheUnhealthyThresholdToo) {
  testing::FakeClock clock;
  HealthTracker t(spec(1, 3), clock.now());
  t.record(fail(), clock.now());
  t.record(fail(), clock.now());
  EXPECT_EQ(t.status(), HealthStatus::unknown);
  EXPECT_TRUE(t.record(fail(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::critical);
  EXPECT_EQ(t.last_output(), "boom");
}

TEST(HealthTracker, APassBetweenFailuresResetsTheCount) {
  testing::FakeClock clock;
  HealthTracker t(spec(1, 2), clock.now());
  t.record(pass(), clock.now());
  t.record(fail(), clock.now());
  t.record(pass(), clock.now());
  t.record(fail(), clock.now());
  EXPECT_EQ(t.status(), HealthStatus::passing);
  t.record(fail(), clock.now());
  EXPECT_EQ(t.status(), HealthStatus::critical);
}

TEST(HealthTracker, RecoveringNeedsTheHealthyThreshold) {
  testing::FakeClock clock;
  HealthTracker t(spec(3, 1), clock.now());
  t.record(fail(), clock.now());
  ASSERT_EQ(t.status(), HealthStatus::critical);
  t.record(pass(), clock.now());
  t.record(pass(), clock.now());
  EXPECT_EQ(t.status(), HealthStatus::critical);
  t.record(pass(), clock.now());
  EXPECT_EQ(t.status(), HealthStatus::passing);
}

TEST(HealthTracker, FailuresInTheStartPeriodDoNotCountButPassesDo) {
  testing::FakeClock clock;
  HealthTracker t(spec(1, 1, 10s), clock.now());
  clock.advance(5s);
  EXPECT_FALSE(t.record(fail(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::unknown);
  clock.advance(6s);  // past the start period
  EXPECT_TRUE(t.record(fail(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::critical);

  HealthTracker fast(spec(1, 1, 10s), clock.now());
  EXPECT_TRUE(fast.record(pass(), clock.now()));
  EXPECT_EQ(fast.status(), HealthStatus::passing);
}

TEST(HealthTracker, WarningIsHealthyEnoughButReported) {
  testing::FakeClock clock;
  HealthTracker t(spec(1, 1), clock.now());
  t.record(pass(), clock.now());
  EXPECT_TRUE(t.record(warn(), clock.now()));
  EXPECT_EQ(t.status(), HealthStatus::warning);
}

TEST(HealthTracker, ForceBypassesThresholdsAndResetStartsOver) {
  testing::FakeClock clock;
  HealthTracker t(spec(1, 5), clock.now());
  t.record(pass(), clock.now());
  EXPECT_TRUE(t.force(HealthStatus::critical, "process exited: exit code 1"));
  EXPECT_EQ(t.status(), HealthStatus::critical);
  t.reset(clock.now());
  EXPECT_EQ(t.status(), HealthStatus::unknown);
}

TEST(HealthTracker, UsesTheUnhealthyIntervalWhileNotPassing) {
  testing::FakeClock clock;
  auto s = spec(1, 1);
  s.interval = 2s;
  s.unhealthy_interval = 500ms;
  HealthTracker t(s, clock.now());
  EXPECT_EQ(t.next_interval(), 500ms);
  t.record(pass(), clock.now());
  EXPECT_EQ(t.next_interval(), 2s);
}

}  // namespace
}  // namespace meshd::health
