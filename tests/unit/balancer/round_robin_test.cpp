#include "balancer/round_robin.hpp"

#include <gtest/gtest.h>

#include <map>

#include "fakes/fake_clock.hpp"
#include "meshd/balancer/load_balancer.hpp"

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
};

Pool make_pool(int n, core::TimePoint joined) {
  Pool p;
  for (int i = 0; i < n; ++i) {
    auto h = std::make_shared<Host>();
    h->id = std::string(1, static_cast<char>('a' + i));
    h->joined = joined;
    p.owned.push_back(h);
  }
  return p;
}

TEST(RoundRobin, SpreadsEvenlyInTurn) {
  testing::FakeClock clock;
  Pool pool = make_pool(3, clock.now() - 1h);
  auto lb = make_load_balancer(config::LoadBalancerPolicy::round_robin, 0ms, 1);
  lb->set_hosts(pool.owned);
  std::string order;
  std::map<std::string, int> counts;
  for (int i = 0; i < 300; ++i) {
    Host* h = lb->choose(pool.all(), {clock.now(), std::nullopt});
    if (i < 6) order += h->id;
    ++counts[h->id];
  }
  EXPECT_EQ(order, "abcabc");
  EXPECT_EQ(counts["a"], 100);
  EXPECT_EQ(counts["b"], 100);
  EXPECT_EQ(counts["c"], 100);
}

TEST(RoundRobin, IgnoresStaticWeights) {
  testing::FakeClock clock;
  Pool pool = make_pool(2, clock.now() - 1h);
  pool.owned[0]->weight = 5;
  RoundRobin lb(0ms, 1);
  lb.set_hosts(pool.owned);
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[lb.choose(pool.all(), {clock.now(), std::nullopt})->id];
  EXPECT_EQ(counts["a"], 50);
  EXPECT_EQ(counts["b"], 50);
}

TEST(RoundRobin, SkipsHostsThatAreNotCandidatesAndTakesThemBack) {
  testing::FakeClock clock;
  Pool pool = make_pool(3, clock.now() - 1h);
  RoundRobin lb(0ms, 1);
  lb.set_hosts(pool.owned);
  std::vector<Host*> without_b = {pool.owned[0].get(), pool.owned[2].get()};
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[lb.choose(without_b, {clock.now(), std::nullopt})->id];
  EXPECT_EQ(counts["a"], 50);
  EXPECT_EQ(counts["b"], 0);
  EXPECT_EQ(counts["c"], 50);

  counts.clear();
  for (int i = 0; i < 300; ++i) ++counts[lb.choose(pool.all(), {clock.now(), std::nullopt})->id];
  EXPECT_NEAR(counts["a"], 100, 1);
  EXPECT_NEAR(counts["b"], 100, 1);
  EXPECT_NEAR(counts["c"], 100, 1);
}

// Properties every policy shares.
class EveryPolicy : public ::testing::TestWithParam<config::LoadBalancerPolicy> {};

TEST_P(EveryPolicy, NoCandidatesMeansNoHost) {
  testing::FakeClock clock;
  Pool pool = make_pool(3, clock.now() - 1h);
  auto lb = make_load_balancer(GetParam(), 0ms, 7);
  lb->set_hosts(pool.owned);
  EXPECT_EQ(lb->choose({}, {clock.now(), std::nullopt}), nullptr);
  EXPECT_EQ(lb->choose({}, {clock.now(), 42u}), nullptr);
  EXPECT_EQ(lb->policy(), GetParam());
}

TEST_P(EveryPolicy, PicksOnlyCandidates) {
  testing::FakeClock clock;
  Pool pool = make_pool(4, clock.now() - 1h);
  auto lb = make_load_balancer(GetParam(), 0ms, 7);
  lb->set_hosts(pool.owned);
  std::vector<Host*> some = {pool.owned[1].get(), pool.owned[3].get()};
  for (std::uint64_t i = 0; i < 200; ++i) {
    Host* h = lb->choose(some, {clock.now(), i * 0x9e3779b97f4a7c15ull});
    ASSERT_TRUE(h == some[0] || h == some[1]) << h->id;
  }
  std::vector<Host*> one = {pool.owned[2].get()};
  EXPECT_EQ(lb->choose(one, {clock.now(), std::nullopt}), pool.owned[2].get());
}

INSTANTIATE_TEST_SUITE_P(Balancer, EveryPolicy,
                         ::testing::Values(config::LoadBalancerPolicy::round_robin,
                                           config::LoadBalancerPolicy::weighted_round_robin,
                                           config::LoadBalancerPolicy::least_connections,
                                           config::LoadBalancerPolicy::least_response_time,
                                           config::LoadBalancerPolicy::random,
                                           config::LoadBalancerPolicy::power_of_two,
                                           config::LoadBalancerPolicy::consistent_hash),
                         [](const auto& p) { return std::string(config::to_string(p.param)); });

}  // namespace
}  // namespace meshd::balancer
