// config/production_services.yaml, the demo topology, loads for every
// environment, and the parts other modules rely on are what they should be.

#include <cstdlib>
#include <filesystem>

#include "meshd/config/graph.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("MESHD_SOURCE_DIR")) return dir;
  return std::filesystem::path(__FILE__).parent_path() / "../../..";
}

std::string config_path() {
  return (source_dir() / "config/production_services.yaml").lexically_normal().string();
}

Config load_demo(const std::string& environment) {
  LoadOptions options;
  options.environment = environment;
  options.variables = std::map<std::string, std::string>{};
  return load_file(config_path(), options);
}

class ProductionConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(ProductionConfig, LoadsAndStartsInDependencyOrder) {
  Config config;
  ASSERT_NO_THROW(config = load_demo(GetParam())) << config_path();
  EXPECT_EQ(config.environment, GetParam());
  EXPECT_EQ(config.mesh.listen, (Endpoint{"127.0.0.1", 8090}));
  EXPECT_EQ(config.mesh.gateway, (Endpoint{"127.0.0.1", 8000}));
  EXPECT_EQ(config.mesh.api_token, "");
  ASSERT_EQ(config.services.size(), 6u);
  auto waves = start_waves(config);
  ASSERT_EQ(waves.size(), 3u);
  EXPECT_EQ(waves.back(), std::vector<std::string>{"gateway"});
  for (const auto& service : config.services) {
    EXPECT_EQ(service.command.front(), "./build/meshd-demo-service") << service.name;
    EXPECT_NE(service.health.type, CheckType::none) << service.name;
    EXPECT_EQ(service.cwd, "") << service.name;  // meshd runs from the repository root
  }
}

INSTANTIATE_TEST_SUITE_P(EveryEnvironment, ProductionConfig,
                         ::testing::Values("", "dev", "staging", "production"));

TEST(ProductionConfigDetails, BasePorts) {
  auto config = load_demo("");
  const std::map<std::string, int> ports = {{"gateway", 8080},      {"evolution_metrics", 8081},
                                            {"hyperrag", 8082},     {"agent_forge", 8083},
                                            {"twin_service", 8001}, {"p2p_networking", 4001}};
  for (const auto& [name, port] : ports) {
    ASSERT_NE(config.find(name), nullptr) << name;
    EXPECT_EQ(config.find(name)->port, port) << name;
  }
}

TEST(ProductionConfigDetails, ProductionReplicasDoNotCollide) {
  auto config = load_demo("production");
  EXPECT_EQ(config.find("hyperrag")->replicas, 3);
  EXPECT_EQ(config.find("hyperrag")->port, 8084);
  EXPECT_EQ(config.find("agent_forge")->port, 8083);
  EXPECT_EQ(config.find("gateway")->circuit_breaker.window_kind,
            CircuitBreakerSpec::WindowKind::time);
}

TEST(ProductionConfigDetails, DevOverlay) {
  auto config = load_demo("dev");
  EXPECT_EQ(config.mesh.log_level, "debug");
  EXPECT_EQ(config.find("hyperrag")->replicas, 1);
  EXPECT_EQ(config.find("hyperrag")->env.at("LOG_LEVEL"), "debug");
}

TEST(ProductionConfigDetails, OneServiceUsesNotify) {
  auto config = load_demo("");
  const auto& p2p = *config.find("p2p_networking");
  EXPECT_EQ(p2p.health.type, CheckType::notify);
  EXPECT_EQ(p2p.command.back(), "--notify");
  EXPECT_EQ(config.find("hyperrag")->health.type, CheckType::http);
  EXPECT_EQ(config.find("hyperrag")->health.path, "/health");
}

TEST(ProductionConfigDetails, PerInstanceArguments) {
  auto config = load_demo("production");
  const auto& hyperrag = *config.find("hyperrag");
  InstanceVars vars{hyperrag.name, 2, static_cast<std::uint16_t>(*hyperrag.port + 2)};
  std::vector<std::string> argv;
  for (const auto& arg : hyperrag.command) argv.push_back(expand_instance_vars(arg, vars));
  EXPECT_EQ(argv, (std::vector<std::string>{"./build/meshd-demo-service", "--port", "8086",
                                            "--name", "hyperrag-2"}));
}

TEST(ProductionConfigDetails, ApiTokenComesFromTheEnvironment) {
  LoadOptions options;
  options.variables = std::map<std::string, std::string>{{"MESHD_API_TOKEN", "t0ken"}};
  EXPECT_EQ(load_file(config_path(), options).mesh.api_token, "t0ken");
}

}  // namespace
}  // namespace meshd::config
