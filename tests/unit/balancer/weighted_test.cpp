// Weighted round robin, weighted random and power of two choices.
#include <gtest/gtest.h>

#include <map>

#include "balancer/power_of_two.hpp"
#include "balancer/weighted_round_robin.hpp"
#include "fakes/fake_clock.hpp"
#include "meshd/balancer/load_balancer.hpp"

namespace meshd::balancer {
namespace {

using namespace std::chrono_literals;
using Policy = config::LoadBalancerPolicy;

struct Pool {
  std::vector<std::shared_ptr<Host>> owned;
  std::vector<Host*> all() const {
    std::vector<Host*> out;
    for (const auto& h : owned) out.push_back(h.get());
    return out;
  }
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

TEST(WeightedRoundRobin, FiveOneOneIsSmoothAndExact) {
  testing::FakeClock clock;
  Pool pool = make_pool({5, 1, 1}, clock.now() - 1h);
  WeightedRoundRobin lb(0ms, 1);
  lb.set_hosts(pool.owned);
  std::string sequence;
  for (int i = 0; i < 700; ++i) sequence += lb.choose(pool.all(), {clock.now(), std::nullopt})->id;

  EXPECT_EQ(sequence.substr(0, 7), "aabacaa");  // nginx's order, not aaaaabc
  std::map<char, int> counts;
  for (char c : sequence) ++counts[c];
  EXPECT_EQ(counts['a'], 500);
  EXPECT_EQ(counts['b'], 100);
  EXPECT_EQ(counts['c'], 100);
  // No burst: every 7-pick cycle repeats the same interleaving, so the heavy
  // host runs at most 4 in a row (across a cycle's seam), never 5 as with
  // aaaaabc.
  EXPECT_EQ(sequence.find("aaaaa"), std::string::npos);
  for (std::size_t i = 7; i < sequence.size(); i += 7) EXPECT_EQ(sequence.substr(i, 7), "aabacaa");
}

TEST(WeightedRoundRobin, FollowsAWeightChange) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1}, clock.now() - 1h);
  WeightedRoundRobin lb(0ms, 1);
  lb.set_hosts(pool.owned);
  pool.owned[1]->weight = 3;
  lb.set_hosts(pool.owned);
  std::map<std::string, int> counts;
  for (int i = 0; i < 400; ++i) ++counts[lb.choose(pool.all(), {clock.now(), std::nullopt})->id];
  EXPECT_NEAR(counts["a"], 100, 1);
  EXPECT_NEAR(counts["b"], 300, 1);
}

class RandomWeights : public ::testing::TestWithParam<Policy> {};

TEST_P(RandomWeights, ThreeToOneWithinTwoPercent) {
  testing::FakeClock clock;
  Pool pool = make_pool({3, 1}, clock.now() - 1h);
  auto lb = make_load_balancer(GetParam(), 0ms, 12345);
  lb->set_hosts(pool.owned);
  int a = 0;
  constexpr int kPicks = 40000;
  for (int i = 0; i < kPicks; ++i)
    if (lb->choose(pool.all(), {clock.now(), std::nullopt})->id == "a") ++a;
  EXPECT_NEAR(static_cast<double>(a) / kPicks, 0.75, 0.02);
}

TEST_P(RandomWeights, SameSeedSamePicks) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1, 1}, clock.now() - 1h);
  auto first = make_load_balancer(GetParam(), 0ms, 99);
  auto second = make_load_balancer(GetParam(), 0ms, 99);
  first->set_hosts(pool.owned);
  second->set_hosts(pool.owned);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(first->choose(pool.all(), {clock.now(), std::nullopt}),
              second->choose(pool.all(), {clock.now(), std::nullopt}));
}

INSTANTIATE_TEST_SUITE_P(Balancer, RandomWeights,
                         ::testing::Values(Policy::random, Policy::power_of_two),
                         [](const auto& p) { return std::string(config::to_string(p.param)); });

TEST(PowerOfTwo, PrefersTheLessLoadedHost) {
  testing::FakeClock clock;
  Pool pool = make_pool({1, 1, 1}, clock.now() - 1h);
  pool.owned[0]->active_requests = 10;
  PowerOfTwo lb(0ms, 5);
  lb.set_hosts(pool.owned);
  std::map<std::string, int> counts;
  constexpr int kPicks = 9000;
  for (int i = 0; i < kPicks; ++i) ++counts[lb.choose(pool.all(), {clock.now(), std::nullopt})->id];
  // Only when both draws land on the busy host (1 in 9) does it get the call,
  // against 1 in 3 for plain random.
  EXPECT_LT(counts["a"], kPicks * 0.15);
  EXPECT_GT(counts["a"], kPicks * 0.07);
  EXPECT_NEAR(counts["b"], counts["c"], kPicks * 0.04);
}

}  // namespace
}  // namespace meshd::balancer
