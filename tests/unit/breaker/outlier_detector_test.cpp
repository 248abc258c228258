#include "meshd/breaker/outlier_detector.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::breaker {
namespace {

using namespace std::chrono_literals;

config::OutlierDetectionSpec spec() {
  config::OutlierDetectionSpec s;
  s.consecutive_failures = 5;
  s.ejection_time = 30s;
  s.max_ejection_time = 100s;
  s.max_ejected = 0.5;
  return s;
}

// Reports `n` failures for `host`; returns what the last one returned.
std::optional<core::TimePoint> fail(OutlierDetector& d, const std::string& host, int n,
                                    core::TimePoint now) {
  std::optional<core::TimePoint> last;
  for (int i = 0; i < n; ++i) last = d.on_result(host, true, now);
  return last;
}

TEST(OutlierDetector, EjectsAfterConsecutiveFailuresForTheEjectionTime) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b", "c", "d"});
  EXPECT_EQ(fail(d, "a", 4, clock.now()), std::nullopt);
  EXPECT_FALSE(d.ejected("a", clock.now()));
  EXPECT_EQ(d.consecutive_failures("a"), 4);
  EXPECT_EQ(d.on_result("a", true, clock.now()), clock.now() + 30s);
  EXPECT_TRUE(d.ejected("a", clock.now()));
  EXPECT_EQ(d.ejected_until("a"), clock.now() + 30s);
  EXPECT_EQ(d.times_ejected("a"), 1);
  EXPECT_TRUE(d.ejected("a", clock.now() + 29999ms));
  EXPECT_FALSE(d.ejected("a", clock.now() + 30s));
  EXPECT_FALSE(d.ejected("b", clock.now()));
}

TEST(OutlierDetector, EachEjectionLastsLongerUpToTheCap) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b", "c", "d"});
  for (core::Duration expected : {30s, 60s, 90s, 100s, 100s}) {
    auto until = fail(d, "a", 5, clock.now());
    ASSERT_TRUE(until);
    EXPECT_EQ(*until - clock.now(), expected);
    clock.set(*until);  // back, and failing again at once
  }
  EXPECT_EQ(d.times_ejected("a"), 5);
}

TEST(OutlierDetector, ASuccessResetsTheCount) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b"});
  fail(d, "a", 4, clock.now());
  d.on_result("a", false, clock.now());
  EXPECT_EQ(fail(d, "a", 4, clock.now()), std::nullopt);
  EXPECT_FALSE(d.ejected("a", clock.now()));
}

TEST(OutlierDetector, NeverEjectsMoreThanMaxEjected) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b", "c", "d"});
  ASSERT_TRUE(fail(d, "a", 5, clock.now()));
  clock.advance(1s);
  ASSERT_TRUE(fail(d, "b", 5, clock.now()));
  EXPECT_EQ(fail(d, "c", 5, clock.now()), std::nullopt);  // 3 of 4 would pass 50%
  EXPECT_FALSE(d.ejected("c", clock.now()));
  EXPECT_EQ(d.ejected_count(clock.now()), 2);

  clock.advance(29s);  // a is back: room for c, on its next failure
  EXPECT_TRUE(d.on_result("c", true, clock.now()));
  EXPECT_TRUE(d.ejected("c", clock.now()));
}

TEST(OutlierDetector, OneHostMayAlwaysBeEjectedButNeverALoneOne) {
  testing::FakeClock clock;
  auto s = spec();
  s.max_ejected = 0.1;  // 10% of 3 hosts rounds down to none
  OutlierDetector d(s);
  d.set_hosts({"a", "b", "c"});
  EXPECT_TRUE(fail(d, "a", 5, clock.now()));
  EXPECT_FALSE(fail(d, "b", 5, clock.now()));

  OutlierDetector lone(spec());
  lone.set_hosts({"only"});
  EXPECT_FALSE(fail(lone, "only", 50, clock.now()));

  s.max_ejected = 0.0;
  OutlierDetector off(s);
  off.set_hosts({"a", "b", "c"});
  EXPECT_FALSE(fail(off, "a", 50, clock.now()));
}

TEST(OutlierDetector, StaysEjectedUntilTheEndWhateverLaterResultsSay) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b"});
  const auto until = fail(d, "a", 5, clock.now());
  ASSERT_TRUE(until);
  clock.advance(10s);
  for (int i = 0; i < 20; ++i) d.on_result("a", false, clock.now());  // calls in flight succeed
  EXPECT_TRUE(d.ejected("a", clock.now()));
  EXPECT_EQ(fail(d, "a", 20, clock.now()), std::nullopt);  // nor do failures extend it
  EXPECT_EQ(d.ejected_until("a"), until);
  clock.set(*until);
  EXPECT_FALSE(d.ejected("a", clock.now()));
}

TEST(OutlierDetector, TheMultiplierDecaysWhileTheHostBehaves) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b"});
  clock.set(*fail(d, "a", 5, clock.now()));
  clock.set(*fail(d, "a", 5, clock.now()));  // 60 s
  EXPECT_EQ(d.times_ejected("a"), 2);
  clock.advance(30s);  // one ejection_time of good behaviour
  d.on_result("a", false, clock.now());
  EXPECT_EQ(d.times_ejected("a"), 1);
  clock.advance(30s);
  EXPECT_EQ(*fail(d, "a", 5, clock.now()) - clock.now(), 30s);  // from 1x again
}

TEST(OutlierDetector, DisabledNeverEjects) {
  testing::FakeClock clock;
  auto s = spec();
  s.enabled = false;
  OutlierDetector d(s);
  d.set_hosts({"a", "b"});
  EXPECT_FALSE(fail(d, "a", 50, clock.now()));
  EXPECT_FALSE(d.ejected("a", clock.now()));
}

TEST(OutlierDetector, MembershipChangesKeepTheStateOfStayingHosts) {
  testing::FakeClock clock;
  OutlierDetector d(spec());
  d.set_hosts({"a", "b"});
  ASSERT_TRUE(fail(d, "a", 5, clock.now()));
  fail(d, "b", 3, clock.now());
  d.set_hosts({"a", "b", "c"});
  EXPECT_TRUE(d.ejected("a", clock.now()));
  EXPECT_EQ(d.consecutive_failures("b"), 3);
  d.set_hosts({"b", "c"});
  EXPECT_FALSE(d.ejected("a", clock.now()));
  EXPECT_EQ(d.on_result("a", true, clock.now()), std::nullopt);  // unknown: ignored
}

}  // namespace
}  // namespace meshd::breaker
