#include "balancer/consistent_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "fakes/fake_clock.hpp"
#include "meshd/balancer/hash.hpp"

namespace meshd::balancer {
namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 10000;

std::shared_ptr<Host> host(const std::string& id) {
  auto h = std::make_shared<Host>();
  h->id = id;
  return h;
}

std::vector<Host*> raw(const std::vector<std::shared_ptr<Host>>& hosts) {
  std::vector<Host*> out;
  for (const auto& h : hosts) out.push_back(h.get());
  return out;
}

// The instance each of kKeys user ids lands on.
std::vector<std::string> assign(ConsistentHash& lb, const std::vector<Host*>& candidates,
                                core::TimePoint now) {
  std::vector<std::string> out;
  for (int k = 0; k < kKeys; ++k)
    out.push_back(lb.choose(candidates, {now, hash_key("user-" + std::to_string(k))})->id);
  return out;
}

TEST(HashKey, IsStableAcrossBuildsAndMachines) {
  // Pinned values (FNV-1a + fmix64, checked against an independent Python
  // implementation): if these change, every sticky key moves on upgrade.
  EXPECT_EQ(hash_key(""), 0xefd01f60ba992926ull);
  EXPECT_EQ(hash_key("user-1"), 0x41a2fca5c68401c5ull);
  EXPECT_EQ(hash_key("10.0.0.7"), 0x6cddabade6f5afc9ull);
}

TEST(ConsistentHash, SameKeySameHostOnEveryGateway) {
  testing::FakeClock clock;
  std::vector<std::shared_ptr<Host>> hosts = {host("svc-0"), host("svc-1"), host("svc-2"),
                                              host("svc-3")};
  ConsistentHash first(0ms, 1);
  first.set_hosts(hosts);
  // Another gateway with the hosts listed in another order and another seed.
  std::vector<std::shared_ptr<Host>> reversed(hosts.rbegin(), hosts.rend());
  ConsistentHash second(0ms, 2);
  second.set_hosts(reversed);

  const auto once = assign(first, raw(hosts), clock.now());
  EXPECT_EQ(assign(first, raw(hosts), clock.now()), once);
  EXPECT_EQ(assign(second, raw(reversed), clock.now()), once);

  std::map<std::string, int> load;
  for (const auto& id : once) ++load[id];
  for (const auto& [id, n] : load) {
    EXPECT_GT(n, kKeys * 0.15) << id;  // 25% each, give or take the ring's grain
    EXPECT_LT(n, kKeys * 0.35) << id;
  }
}

TEST(ConsistentHash, AJoiningHostTakesAboutOneFifthAndNothingElseMoves) {
  testing::FakeClock clock;
  std::vector<std::shared_ptr<Host>> hosts = {host("svc-0"), host("svc-1"), host("svc-2"),
                                              host("svc-3")};
  ConsistentHash lb(0ms, 1);
  lb.set_hosts(hosts);
  const auto before = assign(lb, raw(hosts), clock.now());

  hosts.push_back(host("svc-4"));
  lb.set_hosts(hosts);
  const auto after = assign(lb, raw(hosts), clock.now());

  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] == after[k]) continue;
    ++moved;
    EXPECT_EQ(after[k], "svc-4") << "key " << k << " moved between two old hosts";
  }
  EXPECT_GT(moved, kKeys * 0.10);
  EXPECT_LT(moved, kKeys * 0.30);

  // And leaving gives back exactly the same assignment as before.
  hosts.pop_back();
  lb.set_hosts(hosts);
  EXPECT_EQ(assign(lb, raw(hosts), clock.now()), before);
}

TEST(ConsistentHash, KeysOfAnIneligibleHostGoElsewhereAndComeBack) {
  testing::FakeClock clock;
  std::vector<std::shared_ptr<Host>> hosts = {host("svc-0"), host("svc-1"), host("svc-2"),
                                              host("svc-3")};
  ConsistentHash lb(0ms, 1);
  lb.set_hosts(hosts);
  const auto healthy = assign(lb, raw(hosts), clock.now());

  std::vector<Host*> without_1 = {hosts[0].get(), hosts[2].get(), hosts[3].get()};
  const auto degraded = assign(lb, without_1, clock.now());
  std::map<std::string, int> taken_by;
  for (int k = 0; k < kKeys; ++k) {
    if (healthy[k] == "svc-1") {
      EXPECT_NE(degraded[k], "svc-1");
      ++taken_by[degraded[k]];
    } else {
      EXPECT_EQ(degraded[k], healthy[k]) << "key " << k << " of a healthy host moved";
    }
  }
  // The next point on the ring spreads them over the rest, not onto one host.
  EXPECT_EQ(taken_by.size(), 3u);

  EXPECT_EQ(assign(lb, raw(hosts), clock.now()), healthy);
}

TEST(ConsistentHash, WeightGivesAProportionalShare) {
  testing::FakeClock clock;
  std::vector<std::shared_ptr<Host>> hosts = {host("svc-0"), host("svc-1")};
  hosts[0]->weight = 3;
  ConsistentHash lb(0ms, 1);
  lb.set_hosts(hosts);
  const auto keys = assign(lb, raw(hosts), clock.now());
  const auto heavy = std::count(keys.begin(), keys.end(), "svc-0");
  EXPECT_NEAR(static_cast<double>(heavy) / kKeys, 0.75, 0.05);
}

TEST(ConsistentHash, WithoutAKeyPicksAtRandom) {
  testing::FakeClock clock;
  std::vector<std::shared_ptr<Host>> hosts = {host("svc-0"), host("svc-1")};
  ConsistentHash lb(0ms, 1);
  lb.set_hosts(hosts);
  std::map<std::string, int> counts;
  for (int i = 0; i < 2000; ++i) ++counts[lb.choose(raw(hosts), {clock.now(), std::nullopt})->id];
  EXPECT_NEAR(counts["svc-0"], 1000, 100);
  EXPECT_NEAR(counts["svc-1"], 1000, 100);
}

}  // namespace
}  // namespace meshd::balancer
