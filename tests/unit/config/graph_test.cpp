// Start order, cycles, closures and selection over the dependency graph.

#include "meshd/config/graph.hpp"

#include "test_support.hpp"

namespace meshd::config {
namespace {

using Names = std::vector<std::string>;
using NameSet = std::set<std::string>;

const char* const topology = R"(services:
  gateway: {command: x, depends_on: [hyperrag, agent_forge]}
  hyperrag: {command: x, depends_on: [evolution_metrics]}
  evolution_metrics: {command: x}
  agent_forge: {command: x, depends_on: [{service: evolution_metrics, required: false}]}
  twin_service: {command: x}
)";

// Builds a Config directly, to reach states the loader refuses (cycles).
Config graph(std::vector<std::pair<std::string, Names>> edges) {
  Config config;
  for (auto& [name, deps] : edges) {
    ServiceSpec service;
    service.name = name;
    for (auto& dep : deps) service.depends_on.push_back(Dependency{dep});
    config.services.push_back(service);
  }
  return config;
}

TEST(StartWaves, LevelsInFileOrder) {
  auto waves = start_waves(testing::load(topology));
  EXPECT_EQ(waves,
            (std::vector<Names>{
                {"evolution_metrics", "twin_service"}, {"hyperrag", "agent_forge"}, {"gateway"}}));
}

TEST(StartWaves, AServiceWaitsForItsDeepestDependency) {
  auto waves = start_waves(graph({{"a", {"b", "c"}}, {"b", {}}, {"c", {"b"}}}));
  EXPECT_EQ(waves, (std::vector<Names>{{"b"}, {"c"}, {"a"}}));
}

TEST(StartWaves, EmptyConfigHasNoWaves) {
  EXPECT_TRUE(start_waves(Config{}).empty());
}

TEST(StartWaves, UnknownDependenciesAreIgnored) {
  EXPECT_EQ(start_waves(graph({{"a", {"ghost"}}})), (std::vector<Names>{{"a"}}));
}

TEST(StartWaves, ACycleStillYieldsEveryServiceOnce) {
  auto waves = start_waves(graph({{"a", {"b"}}, {"b", {"a"}}, {"c", {}}}));
  EXPECT_EQ(waves, (std::vector<Names>{{"c"}, {"a", "b"}}));
}

TEST(FindCycle, NoneInAValidConfig) {
  EXPECT_EQ(find_cycle(testing::load(topology)), "");
}

TEST(FindCycle, PrintsOnlyTheLoop) {
  EXPECT_EQ(find_cycle(graph({{"web", {"a"}}, {"a", {"b"}}, {"b", {"a"}}})), "a -> b -> a");
}

TEST(FindCycle, SelfLoop) {
  EXPECT_EQ(find_cycle(graph({{"a", {"a"}}})), "a -> a");
}

TEST(FindCycle, IgnoresUnknownNames) {
  EXPECT_EQ(find_cycle(graph({{"a", {"ghost"}}, {"b", {"a"}}})), "");
}

TEST(DependencyClosure, Transitive) {
  auto config = testing::load(topology);
  EXPECT_EQ(dependency_closure(config, {"gateway"}),
            (NameSet{"gateway", "hyperrag", "agent_forge", "evolution_metrics"}));
  EXPECT_EQ(dependency_closure(config, {"hyperrag", "twin_service"}),
            (NameSet{"hyperrag", "evolution_metrics", "twin_service"}));
  EXPECT_EQ(dependency_closure(config, {"evolution_metrics"}), NameSet{"evolution_metrics"});
}

TEST(DependentsOf, Transitive) {
  auto config = testing::load(topology);
  EXPECT_EQ(dependents_of(config, "evolution_metrics"),
            (NameSet{"hyperrag", "agent_forge", "gateway"}));
  EXPECT_EQ(dependents_of(config, "hyperrag"), NameSet{"gateway"});
  EXPECT_TRUE(dependents_of(config, "gateway").empty());
  EXPECT_TRUE(dependents_of(config, "ghost").empty());
}

TEST(SelectServices, KeepsFileOrderAndTheRest) {
  auto config = testing::load("mesh: {log_level: warn}\n" + std::string(topology));
  auto selected = select_services(config, dependency_closure(config, {"hyperrag"}));
  ASSERT_EQ(selected.services.size(), 2u);
  EXPECT_EQ(selected.services[0].name, "hyperrag");
  EXPECT_EQ(selected.services[1].name, "evolution_metrics");
  EXPECT_EQ(selected.mesh.log_level, "warn");
  EXPECT_EQ(config.services.size(), 5u);  // the original is untouched
}

TEST(EnumNames, MatchTheFileSpelling) {
  EXPECT_STREQ(to_string(RestartPolicy::always), "always");
  EXPECT_STREQ(to_string(RestartPolicy::on_failure), "on-failure");
  EXPECT_STREQ(to_string(RestartPolicy::never), "never");
  EXPECT_STREQ(to_string(DependencyCondition::started), "started");
  EXPECT_STREQ(to_string(DependencyCondition::healthy), "healthy");
  EXPECT_STREQ(to_string(DependencyCondition::completed), "completed");
  EXPECT_STREQ(to_string(CheckType::http), "http");
  EXPECT_STREQ(to_string(CheckType::tcp), "tcp");
  EXPECT_STREQ(to_string(CheckType::exec), "exec");
  EXPECT_STREQ(to_string(CheckType::ttl), "ttl");
  EXPECT_STREQ(to_string(CheckType::notify), "notify");
  EXPECT_STREQ(to_string(CheckType::none), "none");
  EXPECT_STREQ(to_string(LoadBalancerPolicy::power_of_two), "power_of_two");
  EXPECT_EQ(to_string(HashKey{HashKey::Kind::cookie, "sid"}), "cookie:sid");
  EXPECT_EQ(to_string(HashKey{HashKey::Kind::client_ip, ""}), "client_ip");
  EXPECT_EQ(to_string(HashKey{}), "");
}

}  // namespace
}  // namespace meshd::config
