#include "meshd/balancer/retry_budget.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::balancer {
namespace {

using namespace std::chrono_literals;

TEST(RetryBudget, RetriesStayWithinTheBudgetShareOfRequests) {
  testing::FakeClock clock;
  RetryBudget budget(0.2);
  int granted_total = 0;
  // 100 requests a second for a minute, every one of them failing and
  // asking for a retry.
  for (int i = 0; i < 6000; ++i) {
    budget.on_request(clock.now());
    if (budget.try_retry(clock.now())) {
      ++granted_total;
      const int requests = budget.requests(clock.now());
      if (requests >= 150) {  // above the floor's reach (30 = 20% of 150)
        ASSERT_LE(budget.retries(clock.now()), 0.2 * requests) << "request " << i;
      }
    }
    clock.advance(10ms);
  }
  // And the budget is used, not just respected.
  EXPECT_GE(granted_total, 0.19 * 6000);
  EXPECT_LE(granted_total, 0.2 * 6000 + 30);
}

TEST(RetryBudget, AQuietClientCanStillRetry) {
  testing::FakeClock clock;
  RetryBudget budget(0.2);
  // One request a second: 20% would allow no retry at all; the floor of
  // 3 per second does.
  for (int i = 0; i < 60; ++i) {
    budget.on_request(clock.now());
    EXPECT_TRUE(budget.try_retry(clock.now())) << "request " << i;
    clock.advance(1s);
  }
}

TEST(RetryBudget, TheFloorIsAlsoALimit) {
  testing::FakeClock clock;
  RetryBudget budget(0.2);
  budget.on_request(clock.now());
  int granted = 0;
  for (int i = 0; i < 100; ++i)
    if (budget.try_retry(clock.now())) ++granted;
  EXPECT_EQ(granted, 30);  // 3 per second over the 10 s window
  clock.advance(5s);
  EXPECT_FALSE(budget.try_retry(clock.now()));
  clock.advance(5s);  // the burst has left the window
  EXPECT_TRUE(budget.try_retry(clock.now()));
}

TEST(RetryBudget, ZeroBudgetNeverRetries) {
  testing::FakeClock clock;
  RetryBudget budget(0.0);
  budget.on_request(clock.now());
  EXPECT_FALSE(budget.try_retry(clock.now()));
}

TEST(RetryBackoff, GrowsExponentiallyWithEqualJitterAndIsCapped) {
  const core::Duration base = 25ms;
  EXPECT_EQ(retry_backoff(base, 1, 0.0), 13ms);  // half of 25 ms, rounded
  EXPECT_EQ(retry_backoff(base, 1, 1.0), 25ms);
  EXPECT_EQ(retry_backoff(base, 2, 0.0), 25ms);
  EXPECT_EQ(retry_backoff(base, 3, 0.5), 75ms);  // 100 ms ceiling, 50 + 25
  EXPECT_EQ(retry_backoff(base, 4, 1.0), 200ms);
  core::Duration previous{0};
  for (int attempt = 1; attempt < 100; ++attempt) {
    for (double r : {0.0, 0.3, 0.99}) {
      const core::Duration d = retry_backoff(base, attempt, r);
      EXPECT_GE(d, 12ms);
      EXPECT_LE(d, 250ms) << "attempt " << attempt;  // 10 x base
    }
    const core::Duration low = retry_backoff(base, attempt, 0.0);
    EXPECT_GE(low, previous);
    previous = low;
  }
  EXPECT_EQ(retry_backoff(base, 50, 0.0), 125ms);  // half the cap, never 0
  EXPECT_EQ(retry_backoff(0ms, 3, 0.5), 0ms);
}

}  // namespace
}  // namespace meshd::balancer
