#include "meshd/balancer/slow_start.hpp"

#include <gtest/gtest.h>

#include <map>

#include "balancer/least_response_time.hpp"
#include "fakes/fake_clock.hpp"
#include "meshd/balancer/load_balancer.hpp"

namespace meshd::balancer {
namespace {

using namespace std::chrono_literals;
using Policy = config::LoadBalancerPolicy;

TEST(SlowStart, FactorRampsLinearlyFromTenPercent) {
  testing::FakeClock clock;
  Host h;
  h.joined = clock.now();
  EXPECT_DOUBLE_EQ(slow_start_factor(h, clock.now(), 60s), 0.1);
  EXPECT_DOUBLE_EQ(slow_start_factor(h, clock.now() + 30s, 60s), 0.55);
  EXPECT_DOUBLE_EQ(slow_start_factor(h, clock.now() + 60s, 60s), 1.0);
  EXPECT_DOUBLE_EQ(slow_start_factor(h, clock.now() + 1h, 60s), 1.0);
  EXPECT_DOUBLE_EQ(slow_start_factor(h, clock.now(), 0ms), 1.0);  // disabled
  h.weight = 4;
  EXPECT_DOUBLE_EQ(effective_weight(h, clock.now() + 30s, 60s), 2.2);
}

// Picks over `picks` requests at `now`: {old host, new host}.
std::pair<int, int> share(LoadBalancer& lb, const std::vector<Host*>& hosts, core::TimePoint now,
                          int picks) {
  std::pair<int, int> out;
  for (int i = 0; i < picks; ++i) {
    Host* h = lb.choose(hosts, {now, std::nullopt});
    (h == hosts[0] ? out.first : out.second)++;
  }
  return out;
}

class SlowStartPolicy : public ::testing::TestWithParam<Policy> {};

TEST_P(SlowStartPolicy, ANewHostRampsFromATenthToAFullShare) {
  testing::FakeClock clock;
  auto old_host = std::make_shared<Host>();
  old_host->id = "old";
  old_host->joined = clock.now() - 1h;
  auto new_host = std::make_shared<Host>();
  new_host->id = "new";
  new_host->joined = clock.now();
  auto lb = make_load_balancer(GetParam(), 60s, 3);
  lb->set_hosts({old_host, new_host});
  const std::vector<Host*> hosts = {old_host.get(), new_host.get()};

  auto [old_picks, new_picks] = share(*lb, hosts, clock.now(), 11000);
  EXPECT_NEAR(static_cast<double>(new_picks) / old_picks, 0.10, 0.02);  // a tenth of a full host

  clock.advance(30s);
  std::tie(old_picks, new_picks) = share(*lb, hosts, clock.now(), 15500);
  EXPECT_NEAR(static_cast<double>(new_picks) / old_picks, 0.55, 0.04);

  clock.advance(30s);
  std::tie(old_picks, new_picks) = share(*lb, hosts, clock.now(), 10000);
  EXPECT_NEAR(static_cast<double>(new_picks) / old_picks, 1.0, 0.06);
}

INSTANTIATE_TEST_SUITE_P(Balancer, SlowStartPolicy,
                         ::testing::Values(Policy::round_robin, Policy::weighted_round_robin,
                                           Policy::least_connections, Policy::random,
                                           Policy::power_of_two),
                         [](const auto& p) { return std::string(config::to_string(p.param)); });

TEST(SlowStart, LeastResponseTimeSendsARampingHostLessUnderLoad) {
  testing::FakeClock clock;
  auto old_host = std::make_shared<Host>();
  old_host->id = "old";
  old_host->joined = clock.now() - 1h;
  old_host->record_latency(10ms);
  old_host->active_requests = 3;
  auto new_host = std::make_shared<Host>();
  new_host->id = "new";
  new_host->joined = clock.now();
  new_host->record_latency(10ms);
  LeastResponseTime lb(60s, 1);
  lb.set_hosts({old_host, new_host});
  const std::vector<Host*> hosts = {old_host.get(), new_host.get()};
  // Same latency, idle: at a tenth of its weight the new host costs 100
  // against the busy old host's 40.
  EXPECT_EQ(lb.choose(hosts, {clock.now(), std::nullopt}), old_host.get());
  clock.advance(60s);
  EXPECT_EQ(lb.choose(hosts, {clock.now(), std::nullopt}), new_host.get());
}

}  // namespace
}  // namespace meshd::balancer
