// defaults: merged under every service; environments: merged over the file.

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

const char* const file = R"(mesh:
  listen: 127.0.0.1:8090
  log_level: info
defaults:
  env: { A: from-defaults, B: from-defaults }
  tags: [default-tag]
  restart: { policy: always, backoff: { initial: 1s, max: 10s } }
services:
  api:
    command: ./api
    port: 9000
    env: { B: from-service }
    restart: { backoff: { max: 20s } }
  worker:
    command: ./worker
    tags: [worker]
    restart: ~
environments:
  dev:
    mesh: { log_level: debug }
    defaults:
      env: { A: from-dev-defaults }
    services:
      api: { replicas: 2, env: { C: from-dev } }
  empty:
)";

TEST(Defaults, MapsMergeRecursivelyAndServiceValuesWin) {
  auto config = load(file);
  const auto& api = *config.find("api");
  EXPECT_EQ(api.env,
            (std::map<std::string, std::string>{{"A", "from-defaults"}, {"B", "from-service"}}));
  EXPECT_EQ(api.restart.policy, RestartPolicy::always);             // from defaults
  EXPECT_EQ(api.restart.backoff.initial, std::chrono::seconds(1));  // from defaults, one level down
  EXPECT_EQ(api.restart.backoff.max, std::chrono::seconds(20));     // the service's own
  EXPECT_EQ(api.tags, std::vector<std::string>{"default-tag"});
}

TEST(Defaults, ListsReplace) {
  auto config = load(file);
  EXPECT_EQ(config.find("worker")->tags, std::vector<std::string>{"worker"});
}

TEST(Defaults, NullResetsToTheBuiltInDefault) {
  auto config = load(file);
  const auto& worker = *config.find("worker");
  EXPECT_EQ(worker.restart.policy, RestartPolicy::on_failure);
  EXPECT_EQ(worker.restart.backoff.max, RestartSpec{}.backoff.max);
}

TEST(Defaults, ServiceWithNoBodyStillGetsThem) {
  auto config = load("defaults: {command: ./same}\nservices:\n  a:\n  b: {}\n");
  EXPECT_EQ(config.find("a")->command, std::vector<std::string>{"./same"});
  EXPECT_EQ(config.find("b")->command, std::vector<std::string>{"./same"});
}

TEST(Environments, NoneSelectedLeavesTheFileAsItIs) {
  auto config = load(file);
  EXPECT_EQ(config.environment, "");
  EXPECT_EQ(config.mesh.log_level, "info");
  EXPECT_EQ(config.find("api")->replicas, 1);
}

TEST(Environments, OverlayMergesOverServicesMeshAndDefaults) {
  auto config = load(file, "dev");
  EXPECT_EQ(config.environment, "dev");
  EXPECT_EQ(config.mesh.log_level, "debug");
  EXPECT_EQ(config.mesh.listen.port, 8090);  // untouched by the overlay
  const auto& api = *config.find("api");
  EXPECT_EQ(api.replicas, 2);
  EXPECT_EQ(api.env, (std::map<std::string, std::string>{
                         {"A", "from-dev-defaults"}, {"B", "from-service"}, {"C", "from-dev"}}));
  EXPECT_EQ(config.find("worker")->env.at("A"), "from-dev-defaults");
}

TEST(Environments, EmptyOverlayIsFine) {
  EXPECT_EQ(load(file, "empty").find("api")->replicas, 1);
}

TEST(Environments, UnknownEnvironmentListsTheDefinedOnes) {
  auto error = testing::load_error(file, "deve");
  EXPECT_EQ(error.line(), 0);
  EXPECT_STREQ(error.what(),
               "test.yaml: unknown environment 'deve'; the file defines: dev, empty (did you mean "
               "'dev'?)");
}

TEST(Environments, UnknownEnvironmentInAFileWithoutAny) {
  auto error = testing::load_error("services: {}\n", "prod");
  EXPECT_EQ(error.line(), 0);
  EXPECT_EQ(error.detail(), "unknown environment 'prod'; the file defines no environments");
}

TEST(Environments, OverlayNamingAnUnknownServiceFailsEvenWhenNotSelected) {
  EXPECT_CONFIG_ERROR(
      "services:\n  hyperrag: {command: x}\nenvironments:\n  production:\n    services:\n"
      "      hyperag: {replicas: 3}\n",
      6, 7,
      "environments.production.services: unknown service 'hyperag' (did you mean 'hyperrag'?)");
}

TEST(Environments, BadValueInAnOverlayIsReportedWhereItIsWritten) {
  EXPECT_CONFIG_ERROR(
      "services:\n  api: {command: x}\nenvironments:\n  production:\n    services:\n"
      "      api: {replicas: lots}\n",
      6, 23,
      "environments.production.services.api.replicas: expected an integer from 1 to 1000, got "
      "'lots'");
}

TEST(Environments, BadValueInDefaultsIsReportedAsDefaults) {
  EXPECT_CONFIG_ERROR("defaults:\n  timeout: 5\nservices:\n  api: {command: x}\n", 2, 12,
                      "defaults.timeout: expected a duration like 250ms, 2s or 5m, got '5' (a "
                      "bare number has no unit)");
}

TEST(Environments, OverlayCanDisableTheGateway) {
  auto config = load(
      "mesh: {gateway: 127.0.0.1:8000}\nservices: {}\nenvironments:\n  test: {mesh: {gateway: "
      "~}}\n",
      "test");
  EXPECT_FALSE(config.mesh.gateway.has_value());
}

TEST(Environments, ErrorsAfterMergingPointAtTheOverlayLine) {
  // The collision only exists with the overlay's replicas; the error points
  // at the port that completes it, and names both services.
  const char* yaml = R"(services:
  a: {command: x, port: 9000}
  b: {command: x, port: 9001}
environments:
  production:
    services:
      a: {replicas: 2}
)";
  EXPECT_NO_THROW(load(yaml));
  auto error = testing::load_error(yaml, "production");
  EXPECT_EQ(error.line(), 3);
  EXPECT_EQ(error.column(), 25);
  EXPECT_EQ(error.detail(),
            "port 9001 is taken twice: service 'a' (instance 1, ports 9000-9001) "
            "and service 'b'");
}

}  // namespace
}  // namespace meshd::config
