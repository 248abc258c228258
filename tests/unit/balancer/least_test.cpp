// least_connections and least_response_time.
#include <gtest/gtest.h>

#include <map>

#include "balancer/least_connections.hpp"
#include "balancer/least_response_time.hpp"
#include "fakes/fake_clock.hpp"

namespace meshd::balancer {
namespace {

using namespace std::chrono_literals;

struct Pool {
  std::vector<std::shared_ptr<Host>> owned;
  std::vector<Host*> all() const {
    std::vector<Host*> out;
    for (const auto& h : owned) out.push_back(h.get());
    return out;
  }
  Host& operator[](std::size_t i) { return *owned[i]; }
};

Pool make_pool(std::vector<int> weights, core::TimePoint joined) {
  Pool p;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    auto h = std::make_shared<Host>();
    h->id = std::string(1, static_cast<char>('a' + i));
    h->weight = weights[i];
    h->joined = joined;
    p.owned.push_back(h);
  }
  return p;
}

TEST(LeastConnections, AvoidsTheBusyHost) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1}, clock.now() - 1h);
  pool[0].active_requests = 5;
  pool[2].active_requests = 3;
  LeastConnections lb(0ms, 1);
  lb.set_hosts(pool.owned);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "b");

  // Requests that stay in flight fill the idle hosts up to the busy one's
  // level before the busy one gets anything.
  for (int i = 0; i < 5; ++i) {
    Host* h = lb.choose(pool.all(), {clock.now(), std::nullopt});
    EXPECT_NE(h->id, "a") << "pick " << i;
    ++h->active_requests;
  }
  EXPECT_EQ(pool[0].active_requests, 5);
  EXPECT_EQ(pool[1].active_requests + pool[2].active_requests, 3 + 5);
}

TEST(LeastConnections, IdleHostsShareByWeight) {
  testing::FakeClock clock;
  Pool pool = make_pool({2, 1}, clock.now() - 1h);
  LeastConnections lb(0ms, 1);
  lb.set_hosts(pool.owned);
  std::map<std::string, int> counts;
  for (int i = 0; i < 300; ++i) ++counts[lb.choose(pool.all(), {clock.now(), std::nullopt})->id];
  EXPECT_EQ(counts["a"], 200);
  EXPECT_EQ(counts["b"], 100);
}

TEST(LeastConnections, LoadIsMeasuredPerUnitOfWeight) {
  testing::FakeClock clock;
  Pool pool = make_pool({4, 1}, clock.now() - 1h);
  pool[0].active_requests = 3;  // 0.75 per unit of weight
  pool[1].active_requests = 1;  // 1 per unit
  LeastConnections lb(0ms, 1);
  lb.set_hosts(pool.owned);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "a");
}

TEST(LeastResponseTime, PrefersTheFastHost) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1}, clock.now() - 1h);
  pool[0].record_latency(100ms);
  pool[1].record_latency(10ms);
  pool[2].record_latency(50ms);
  LeastResponseTime lb(0ms, 1);
  lb.set_hosts(pool.owned);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "b");
}

TEST(LeastResponseTime, FollowsLatencyWhenAHostSlowsDown) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1}, clock.now() - 1h);
  pool[0].record_latency(10ms);
  pool[1].record_latency(30ms);
  LeastResponseTime lb(0ms, 1);
  lb.set_hosts(pool.owned);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "a");
  for (int i = 0; i < 5; ++i) pool[0].record_latency(200ms);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "b");
}

TEST(LeastResponseTime, ABusyFastHostLosesToAnIdleSlowerOne) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1}, clock.now() - 1h);
  pool[0].record_latency(100ms);
  pool[1].record_latency(10ms);
  pool[2].record_latency(50ms);
  pool[1].active_requests = 20;  // 10 ms x 21 queued beats nothing
  LeastResponseTime lb(0ms, 1);
  lb.set_hosts(pool.owned);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "c");
}

TEST(LeastResponseTime, MeasuresANewHostOneRequestAtATime) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1}, clock.now() - 1h);
  pool[0].record_latency(10ms);
  pool[1].record_latency(20ms);
  LeastResponseTime lb(0ms, 1);
  lb.set_hosts(pool.owned);
  Host* probe = lb.choose(pool.all(), {clock.now(), std::nullopt});
  EXPECT_EQ(probe->id, "c");  // no data yet: goes first
  ++probe->active_requests;
  // While its probe is in flight it is costed at the mean (15 ms) x 2.
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "a");
  --probe->active_requests;
  probe->record_latency(5ms);
  EXPECT_EQ(lb.choose(pool.all(), {clock.now(), std::nullopt})->id, "c");
}

TEST(Host, LatencyAverageStartsAtTheFirstSampleAndDecays) {
  Host h;
  EXPECT_FALSE(h.has_latency());
  h.record_latency(100ms);
  EXPECT_TRUE(h.has_latency());
  EXPECT_DOUBLE_EQ(h.latency_ewma_ms(), 100.0);
  h.record_latency(200ms);
  EXPECT_DOUBLE_EQ(h.latency_ewma_ms(), 130.0);  // 30% of the new sample
  for (int i = 0; i < 20; ++i) h.record_latency(10ms);
  EXPECT_NEAR(h.latency_ewma_ms(), 10.0, 0.1);
}

}  // namespace
}  // namespace meshd::balancer
