#include "meshd/health/health_checker.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_prober.hpp"

namespace meshd::health {
namespace {

using namespace std::chrono_literals;
using testing::FakeProber;

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  std::shared_ptr<FakeProber::Script> script = std::make_shared<FakeProber::Script>();
  std::vector<HealthStatus> changes;
  double random = 0.5;

  std::unique_ptr<HealthChecker> make(config::HealthSpec spec) {
    return std::make_unique<HealthChecker>(
        scheduler, spec, std::make_unique<FakeProber>(script, clock), [this] { return random; },
        [this](HealthStatus s, const std::string&) { changes.push_back(s); });
  }
};

config::HealthSpec http_spec() {
  config::HealthSpec s;
  s.type = config::CheckType::http;
  s.interval = 2s;
  s.jitter = 1s;
  s.healthy_threshold = 1;
  s.unhealthy_threshold = 2;
  return s;
}

TEST(HealthChecker, JittersTheFirstProbeAndEveryInterval) {
  Fixture f;
  auto start = f.clock.now();
  auto checker = f.make(http_spec());
  f.random = 0.25;
  checker->start();
  f.scheduler.advance(10s);
  ASSERT_GE(f.script->runs.size(), 4u);
  EXPECT_EQ(f.script->runs[0] - start, 250ms);               // first: 0 + 0.25 * 1s
  EXPECT_EQ(f.script->runs[1] - f.script->runs[0], 2250ms);  // then interval + jitter
  EXPECT_EQ(f.changes, std::vector<HealthStatus>{HealthStatus::passing});
}

TEST(HealthChecker, JitterStaysWithinItsBound) {
  Fixture f;
  auto start = f.clock.now();
  f.random = 0.999;
  auto checker = f.make(http_spec());
  checker->start();
  f.scheduler.advance(1s);
  ASSERT_EQ(f.script->runs.size(), 1u);
  EXPECT_LT(f.script->runs[0] - start, 1s);
}

TEST(HealthChecker, OnlyOneProbeIsInFlight) {
  Fixture f;
  f.script->hold = true;  // the probe hangs until released
  auto checker = f.make(http_spec());
  checker->start();
  f.scheduler.advance(30s);
  EXPECT_EQ(f.script->runs.size(), 1u);
  f.script->held[0]({});
  f.scheduler.advance(3s);
  EXPECT_EQ(f.script->runs.size(), 2u);
}

TEST(HealthChecker, GoesCriticalAfterTheThresholdAndProbesFasterWhileUnhealthy) {
  Fixture f;
  auto spec = http_spec();
  spec.jitter = 0ms;
  spec.unhealthy_interval = 500ms;
  f.script->fallback = {HealthStatus::critical, "connection refused", 0ms};
  auto checker = f.make(spec);
  checker->start();
  f.scheduler.advance(0ms);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::unknown);
  f.scheduler.advance(500ms);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::critical);
  EXPECT_EQ(checker->tracker().last_output(), "connection refused");
  EXPECT_EQ(f.script->runs[1] - f.script->runs[0], 500ms);
}

TEST(HealthChecker, ResultsOfAProbeFromBeforeAStopAreDropped) {
  Fixture f;
  f.script->hold = true;
  auto checker = f.make(http_spec());
  checker->start();
  f.scheduler.advance(2s);
  ASSERT_EQ(f.script->held.size(), 1u);
  checker->stop();
  f.script->held[0]({});
  EXPECT_TRUE(f.changes.empty());
  EXPECT_EQ(f.scheduler.pending(), 0u);
}

TEST(HealthChecker, TtlPassesAndExpires) {
  Fixture f;
  config::HealthSpec spec;
  spec.type = config::CheckType::ttl;
  spec.ttl = 10s;
  auto checker = f.make(spec);
  checker->start();
  EXPECT_TRUE(checker->pass_ttl("all good"));
  EXPECT_EQ(checker->tracker().status(), HealthStatus::passing);
  f.scheduler.advance(9s);
  EXPECT_TRUE(checker->pass_ttl(""));
  f.scheduler.advance(9s);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::passing);
  f.scheduler.advance(2s);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::critical);
  EXPECT_NE(checker->tracker().last_output().find("TTL"), std::string::npos);
  EXPECT_TRUE(f.script->runs.empty());  // passive: never probed
}

TEST(HealthChecker, TtlIsRefusedForOtherCheckTypes) {
  Fixture f;
  auto checker = f.make(http_spec());
  EXPECT_FALSE(checker->pass_ttl("x"));
}

TEST(HealthChecker, NotifyWithoutReadyBecomesCriticalAfterTheStartPeriod) {
  Fixture f;
  config::HealthSpec spec;
  spec.type = config::CheckType::notify;
  spec.start_period = 5s;
  auto checker = f.make(spec);
  checker->start();
  f.scheduler.advance(4s);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::unknown);
  f.scheduler.advance(2s);
  EXPECT_EQ(checker->tracker().status(), HealthStatus::critical);

  auto ready = f.make(spec);
  ready->start();
  ready->mark(HealthStatus::passing, "READY=1 received");
  f.scheduler.advance(10s);
  EXPECT_EQ(ready->tracker().status(), HealthStatus::passing);
}

TEST(HealthChecker, NoneIsPassingAtStart) {
  Fixture f;
  config::HealthSpec spec;
  spec.type = config::CheckType::none;
  auto checker = f.make(spec);
  checker->start();
  EXPECT_EQ(checker->tracker().status(), HealthStatus::passing);
}

}  // namespace
}  // namespace meshd::health
