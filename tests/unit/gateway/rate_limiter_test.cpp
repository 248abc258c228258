#include "gateway/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "fakes/fake_clock.hpp"
#include "meshd/gateway/route_table.hpp"

namespace meshd::gateway {
namespace {

using namespace std::chrono_literals;

config::RateLimitSpec limit(double rps, int burst, std::size_t max_keys = 100) {
  config::RateLimitSpec s;
  s.rps = rps;
  s.burst = burst;
  s.max_keys = max_keys;
  return s;
}

// How many of `n` requests at one instant are admitted.
int admitted(RateLimiter& rl, std::string_view key, core::TimePoint now, int n) {
  int ok = 0, retry_after = 0;
  for (int i = 0; i < n; ++i) ok += rl.admit(key, now, retry_after) ? 1 : 0;
  return ok;
}

TEST(RateLimiter, AdmitsTheBurstAtOnceThenRefillsAtRps) {
  testing::FakeClock clock;
  RateLimiter rl(limit(5, 5));
  EXPECT_EQ(admitted(rl, "a", clock.now(), 20), 5);
  clock.advance(200ms);  // one token at 5/s
  EXPECT_EQ(admitted(rl, "a", clock.now(), 20), 1);
  clock.advance(1s);
  EXPECT_EQ(admitted(rl, "a", clock.now(), 20), 5);
  clock.advance(1h);  // never more than the burst
  EXPECT_EQ(admitted(rl, "a", clock.now(), 20), 5);
}

TEST(RateLimiter, SustainedRateIsRps) {
  testing::FakeClock clock;
  RateLimiter rl(limit(100, 1));
  int ok = 0;
  for (int i = 0; i < 10000; ++i) {  // 10 s at 1000 requests a second
    ok += admitted(rl, "k", clock.now(), 1);
    clock.advance(1ms);
  }
  EXPECT_GE(ok, 999);
  EXPECT_LE(ok, 1001);
}

TEST(RateLimiter, BurstDefaultsAndFractionalRates) {
  testing::FakeClock clock;
  RateLimiter rl(limit(0.5, 1));  // one request every two seconds
  int retry_after = 0;
  EXPECT_TRUE(rl.admit("", clock.now(), retry_after));
  EXPECT_FALSE(rl.admit("", clock.now(), retry_after));
  EXPECT_EQ(retry_after, 2);
  clock.advance(1s);
  EXPECT_FALSE(rl.admit("", clock.now(), retry_after));
  EXPECT_EQ(retry_after, 1);
  clock.advance(1s);
  EXPECT_TRUE(rl.admit("", clock.now(), retry_after));
}

TEST(RateLimiter, RetryAfterIsWholeSecondsAtLeastOne) {
  testing::FakeClock clock;
  RateLimiter rl(limit(1000, 1));
  int retry_after = -1;
  EXPECT_TRUE(rl.admit("k", clock.now(), retry_after));
  EXPECT_FALSE(rl.admit("k", clock.now(), retry_after));
  EXPECT_EQ(retry_after, 1);  // 1 ms rounds up to a whole second
  RateLimiter slow(limit(0.1, 3));
  EXPECT_EQ(admitted(slow, "k", clock.now(), 3), 3);
  EXPECT_FALSE(slow.admit("k", clock.now(), retry_after));
  EXPECT_EQ(retry_after, 10);
  clock.advance(2500ms);
  EXPECT_FALSE(slow.admit("k", clock.now(), retry_after));
  EXPECT_EQ(retry_after, 8);  // 7.5 s to go, rounded up
}

TEST(RateLimiter, KeysAreIndependent) {
  testing::FakeClock clock;
  RateLimiter rl(limit(1, 2));
  EXPECT_EQ(admitted(rl, "10.0.0.1", clock.now(), 5), 2);
  EXPECT_EQ(admitted(rl, "10.0.0.2", clock.now(), 5), 2);
  EXPECT_EQ(admitted(rl, "", clock.now(), 5), 2);
  EXPECT_EQ(admitted(rl, "10.0.0.1", clock.now(), 5), 0);
  EXPECT_EQ(rl.keys(), 3u);
}

TEST(RateLimiter, KeepsAtMostMaxKeysDroppingTheLeastRecentlyUsed) {
  testing::FakeClock clock;
  RateLimiter rl(limit(1, 1, 3));
  int retry_after = 0;
  for (const char* k : {"a", "b", "c"}) EXPECT_TRUE(rl.admit(k, clock.now(), retry_after));
  EXPECT_FALSE(rl.admit("a", clock.now(), retry_after));  // a is now the most recent
  EXPECT_TRUE(rl.admit("d", clock.now(), retry_after));   // b goes: the least recent
  EXPECT_EQ(rl.keys(), 3u);
  EXPECT_FALSE(rl.admit("a", clock.now(), retry_after));  // kept: still empty
  EXPECT_FALSE(rl.admit("c", clock.now(), retry_after));  // kept
  EXPECT_TRUE(rl.admit("b", clock.now(), retry_after));   // forgotten: starts full again
  EXPECT_EQ(rl.keys(), 3u);
  // A flood of distinct keys stays bounded.
  for (int i = 0; i < 10000; ++i) rl.admit("flood-" + std::to_string(i), clock.now(), retry_after);
  EXPECT_EQ(rl.keys(), 3u);
}

TEST(RateLimiter, IsSafeToShareAcrossThreads) {
  testing::FakeClock clock;
  RateLimiter rl(limit(1, 1000, 50));
  auto now = clock.now();
  std::atomic<int> shared_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      int retry_after = 0;
      for (int i = 0; i < 2000; ++i) {
        if (rl.admit("shared", now, retry_after)) ++shared_ok;
        // Distinct keys churn the recency list meanwhile, "shared" stays recent.
        if (i % 4 == 0)
          rl.admit("t" + std::to_string(t) + "-" + std::to_string(i), now, retry_after);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared_ok.load(), 1000);  // the burst, exactly: no lost or double update
  EXPECT_LE(rl.keys(), 50u);
}

TEST(ServiceRouteRateLimiter, IsKeptByAReloadThatLeavesRateLimitAlone) {
  testing::FakeClock clock;
  core::EventBus events{clock};
  RouteTable table{&events, 1};
  auto config_with = [](std::optional<config::RateLimitSpec> rl, core::Duration timeout) {
    auto cfg = std::make_shared<config::Config>();
    config::ServiceSpec s;
    s.name = "api";
    s.rate_limit = rl;
    s.timeout = timeout;
    cfg->services.push_back(s);
    return cfg;
  };
  table.set_config(config_with(std::nullopt, 1s));
  EXPECT_EQ(table.find("api")->rate_limiter(), nullptr);

  table.set_config(config_with(limit(1, 1), 1s));
  RateLimiter* first = table.find("api")->rate_limiter();
  ASSERT_NE(first, nullptr);
  int retry_after = 0;
  EXPECT_TRUE(first->admit("k", clock.now(), retry_after));
  EXPECT_FALSE(first->admit("k", clock.now(), retry_after));

  table.set_config(config_with(limit(1, 1), 2s));  // another field: the buckets stay
  EXPECT_EQ(table.find("api")->rate_limiter(), first);
  EXPECT_FALSE(first->admit("k", clock.now(), retry_after));

  table.set_config(config_with(limit(2, 1), 2s));  // the limit itself: new buckets
  RateLimiter* second = table.find("api")->rate_limiter();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->spec().rps, 2);
  EXPECT_TRUE(second->admit("k", clock.now(), retry_after));

  table.set_config(config_with(std::nullopt, 2s));
  EXPECT_EQ(table.find("api")->rate_limiter(), nullptr);
}

}  // namespace
}  // namespace meshd::gateway
