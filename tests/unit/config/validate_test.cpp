// Checks across services: names, dependencies, cycles and port collisions.

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

TEST(ServiceNames, MustBeUrlSafe) {
  EXPECT_NO_THROW(load("services:\n  a-1_b: {command: x}\n  9lives: {command: x}\n"));
  const std::string rule =
      "' must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter or digit (it "
      "appears in URLs)";
  EXPECT_CONFIG_ERROR("services:\n  Api: {command: x}\n", 2, 3, "service name 'Api" + rule);
  EXPECT_CONFIG_ERROR("services:\n  -api: {command: x}\n", 2, 3, "service name '-api" + rule);
  EXPECT_CONFIG_ERROR("services:\n  a.b: {command: x}\n", 2, 3, "service name 'a.b" + rule);
  const std::string long_name(64, 'a');
  EXPECT_CONFIG_ERROR("services:\n  " + long_name + ": {command: x}\n", 2, 3,
                      "service name '" + long_name + rule);
  EXPECT_NO_THROW(load("services:\n  " + std::string(63, 'a') + ": {command: x}\n"));
}

TEST(Dependencies, UnknownWithHint) {
  EXPECT_CONFIG_ERROR(
      "services:\n  evolution_metrics: {command: x}\n  hyperrag:\n    command: x\n"
      "    depends_on: [evolution_metric]\n",
      5, 18,
      "service 'hyperrag' depends on unknown service 'evolution_metric' (did you mean "
      "'evolution_metrics'?)");
}

TEST(Dependencies, UnknownInLongForm) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a:\n    command: x\n    depends_on:\n      - {service: nothing}\n", 5, 9,
      "service 'a' depends on unknown service 'nothing'");
}

TEST(Dependencies, Self) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, depends_on: [a]}\n", 2, 32,
                      "service 'a' depends on itself");
}

TEST(Dependencies, ListedTwice) {
  EXPECT_CONFIG_ERROR(
      "services:\n  b: {command: x}\n  a: {command: x, depends_on: [b, {service: b}]}\n", 3, 35,
      "service 'a' lists 'b' twice in depends_on");
}

TEST(Dependencies, CompletedNeedsAServiceThatCanComplete) {
  EXPECT_CONFIG_ERROR(
      "services:\n  pg: {address: h:1}\n  a: {command: x, depends_on: [{service: pg, condition: "
      "completed}]}\n",
      3, 32, "service 'a' waits for 'pg' to complete, but it is external and never does");
  EXPECT_CONFIG_ERROR(
      "services:\n  m: {command: x, restart: {policy: always}}\n  a: {command: x, depends_on: "
      "[{service: m, condition: completed}]}\n",
      3, 32,
      "service 'a' waits for 'm' to complete, but its restart policy 'always' never lets it");
}

TEST(Dependencies, CyclePrintsTheLoopAtItsFirstEdge) {
  const char* yaml = R"(services:
  web: {command: x, depends_on: [a]}
  a: {command: x, depends_on: [b]}
  b: {command: x, depends_on: [c]}
  c: {command: x, depends_on: [a]}
)";
  auto error = testing::load_error(yaml);
  EXPECT_EQ(error.detail(), "dependency cycle: a -> b -> c -> a");
  EXPECT_EQ(error.line(), 3);
  EXPECT_EQ(error.column(), 32);
}

TEST(Dependencies, TwoServiceCycle) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, depends_on: [b]}\n  b: {command: x, depends_on: [a]}\n", 2, 32,
      "dependency cycle: a -> b -> a");
}

TEST(Ports, ReplicasCollideWithTheNextService) {
  EXPECT_CONFIG_ERROR(
      "services:\n  hyperrag: {command: x, port: 8082, replicas: 3}\n"
      "  agent_forge: {command: x, port: 8083}\n",
      3, 35,
      "port 8083 is taken twice: service 'hyperrag' (instance 1, ports 8082-8084) and service "
      "'agent_forge'");
}

TEST(Ports, AdjacentBlocksDoNotCollide) {
  EXPECT_NO_THROW(load(
      "services:\n  a: {command: x, port: 8082, replicas: 2}\n  b: {command: x, port: 8084}\n"));
}

TEST(Ports, ExternalLocalAddressCounts) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, port: 5432}\n  pg: {address: [\"localhost:5432\"]}\n", 3, 18,
      "port 5432 is taken twice: service 'a' and service 'pg' (address localhost:5432)");
}

TEST(Ports, ListenerAfterAnExternalAddressCounts) {
  EXPECT_CONFIG_ERROR(
      "services:\n  pg: {address: [\"localhost:5432\"]}\n  a: {command: x, port: 5432}\n", 3, 25,
      "port 5432 is taken twice: service 'pg' (address localhost:5432) and service 'a'");
}

TEST(Ports, TwoExternalServicesMayShareAnAddress) {
  // Two names for one database: neither is started by meshd, so nothing
  // collides (issue 12's defect: this was "taken twice").
  auto cfg = load(
      "services:\n  pg: {address: \"127.0.0.1:5432\"}\n  pg-read: {address: \"localhost:5432\"}\n");
  ASSERT_EQ(cfg.services.size(), 2u);
  for (const auto& service : cfg.services) {
    ASSERT_EQ(service.addresses.size(), 1u) << service.name;
    EXPECT_EQ(service.addresses[0].port, 5432) << service.name;
  }
}

TEST(Ports, RemoteAddressesDoNotCount) {
  EXPECT_NO_THROW(
      load("services:\n  a: {command: x, port: 5432}\n  pg: {address: 10.0.0.5:5432}\n"
           "  pg2: {address: 10.0.0.5:5432}\n"));
}

TEST(Ports, MeshListenAndGateway) {
  EXPECT_CONFIG_ERROR("mesh: {listen: 127.0.0.1:8090}\nservices:\n  a: {command: x, port: 8090}\n",
                      3, 25, "port 8090 is taken twice: mesh.listen and service 'a'");
  EXPECT_CONFIG_ERROR(
      "mesh: {gateway: 0.0.0.0:8000}\nservices:\n  a: {command: x, port: 7999, replicas: 2}\n", 3,
      25, "port 8000 is taken twice: mesh.gateway and service 'a' (instance 1, ports 7999-8000)");
  EXPECT_CONFIG_ERROR("mesh: {listen: \"localhost:8000\", gateway: \"127.0.0.1:8000\"}\n", 1, 43,
                      "port 8000 is taken twice: mesh.listen and mesh.gateway");
}

TEST(Ports, MeshOnAnotherInterfaceOrPortZeroDoesNotCollide) {
  EXPECT_NO_THROW(
      load("mesh: {listen: 10.1.1.1:8090}\nservices:\n  a: {command: x, port: 8090}\n"));
  EXPECT_NO_THROW(load("mesh: {listen: 127.0.0.1:0, gateway: 127.0.0.1:0}\n"));
}

}  // namespace
}  // namespace meshd::config
