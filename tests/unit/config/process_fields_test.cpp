// The process and wiring fields of a service, and the mesh block.

#include <csignal>

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;
using namespace std::chrono_literals;

TEST(ServiceDefaults, BuiltInValues) {
  const auto service = load("services:\n  a: {command: x}\n").services.at(0);
  EXPECT_TRUE(service.managed());
  EXPECT_EQ(service.replicas, 1);
  EXPECT_FALSE(service.port.has_value());
  EXPECT_EQ(service.health.type, CheckType::none);
  EXPECT_EQ(service.restart.policy, RestartPolicy::on_failure);
  EXPECT_EQ(service.shutdown.signal, SIGTERM);
  EXPECT_EQ(service.load_balancer, LoadBalancerPolicy::round_robin);
  EXPECT_EQ(service.mark.line, 2);
  EXPECT_EQ(service.mark.column, 3);
}

TEST(Address, OneOrAList) {
  auto config = load(
      "services:\n  pg: {address: 127.0.0.1:5432}\n"
      "  cache: {address: [10.0.0.1:6379, \"cache.internal:6380\"]}\n");
  EXPECT_FALSE(config.services[0].managed());
  EXPECT_EQ(config.services[0].addresses, (std::vector<Endpoint>{{"127.0.0.1", 5432}}));
  EXPECT_EQ(config.services[1].instance_count(), 2);
  EXPECT_EQ(config.services[1].addresses[1], (Endpoint{"cache.internal", 6380}));
}

TEST(Address, Errors) {
  EXPECT_CONFIG_ERROR("services:\n  pg: {address: 5432}\n", 2, 17,
                      "services.pg.address: expected host:port, like 127.0.0.1:8080, got '5432'");
  EXPECT_CONFIG_ERROR("services:\n  pg: {address: \"db:0\"}\n", 2, 17,
                      "services.pg.address: port must be from 1 to 65535, got 'db:0'");
}

TEST(Address, AnEmptyListDeclaresARegistrationOnlyService) {
  auto config =
      load_string("version: 1\nservices:\n  pg: {address: [], health: {type: tcp}}\n", "t.yaml");
  ASSERT_EQ(config.services.size(), 1u);
  EXPECT_FALSE(config.services[0].managed());
  EXPECT_EQ(config.services[0].instance_count(), 0);
  EXPECT_CONFIG_ERROR("services:\n  pg: {address: [], command: [x]}\n", 2, 17,
                      "service 'pg' has both 'command' and 'address'; a service is either run by "
                      "meshd or external");
}

TEST(CommandOrAddress, NeitherIsAnErrorNamingTheService) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    port: 80\n", 2, 3,
                      "service 'api' needs 'command' (a process meshd runs) or 'address' (an "
                      "external instance)");
  EXPECT_CONFIG_ERROR("services:\n  api:\n", 2, 3,
                      "service 'api' needs 'command' (a process meshd runs) or 'address' (an "
                      "external instance)");
}

TEST(CommandOrAddress, BothIsAnError) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    address: h:1\n", 4, 14,
                      "service 'api' has both 'command' and 'address'; a service is either run by "
                      "meshd or external");
}

TEST(CommandOrAddress, ExternalServiceHasNoPort) {
  EXPECT_CONFIG_ERROR("services:\n  pg:\n    address: h:1\n    port: 5\n", 4, 11,
                      "services.pg.port: an external service has no 'port' of its own; put the "
                      "port in 'address'");
}

TEST(Process, CwdEnvReplicasPort) {
  auto service =
      load(
          "services:\n  a:\n    command: x\n    cwd: /srv/a\n    env: {K: v}\n    replicas: 3\n"
          "    port: 9000\n")
          .services.at(0);
  EXPECT_EQ(service.cwd, "/srv/a");
  EXPECT_EQ(service.env.at("K"), "v");
  EXPECT_EQ(service.instance_count(), 3);
  EXPECT_EQ(service.port, 9000);
}

TEST(Process, ReplicasWithoutAPortAreFine) {
  EXPECT_EQ(load("services:\n  w: {command: x, replicas: 4}\n").services[0].instance_count(), 4);
}

TEST(Process, ShutdownSignalByNameOrNumber) {
  auto config = load(
      "services:\n"
      "  a: {command: x, shutdown: {signal: SIGINT, timeout: 3s}}\n"
      "  b: {command: x, shutdown: {signal: QUIT}}\n"
      "  c: {command: x, shutdown: {signal: 10}}\n");
  EXPECT_EQ(config.services[0].shutdown.signal, SIGINT);
  EXPECT_EQ(config.services[0].shutdown.timeout, 3s);
  EXPECT_EQ(config.services[1].shutdown.signal, SIGQUIT);
  EXPECT_EQ(config.services[2].shutdown.signal, 10);
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, shutdown: {signal: SIGTREM}}\n", 2, 38,
      "services.a.shutdown.signal: expected one of SIGTERM, TERM, SIGINT, INT, "
      "SIGQUIT, QUIT, SIGKILL, KILL, SIGHUP, HUP, SIGUSR1, USR1, SIGUSR2, USR2, got "
      "'SIGTREM' (did you mean 'SIGTERM'?)");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, shutdown: {signal: 65}}\n", 2, 38,
                      "services.a.shutdown.signal: expected an integer from 1 to 64, got '65'");
}

TEST(Process, Restart) {
  auto restart = load(
                     "services:\n  a:\n    command: x\n    restart: {policy: never, backoff: "
                     "{initial: 1s, max: "
                     "1m}, max_restarts: 0, window: 10m, reset_after: 2m}\n")
                     .services[0]
                     .restart;
  EXPECT_EQ(restart.policy, RestartPolicy::never);
  EXPECT_EQ(restart.backoff.initial, 1s);
  EXPECT_EQ(restart.backoff.max, 60s);
  EXPECT_EQ(restart.max_restarts, 0);
  EXPECT_EQ(restart.window, 10min);
  EXPECT_EQ(restart.reset_after, 2min);
}

TEST(Process, RestartPolicyNames) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, restart: {policy: on_failure}}\n", 2, 37,
                      "services.a.restart.policy: expected one of always, on-failure, never, got "
                      "'on_failure' (did you mean 'on-failure'?)");
}

TEST(Process, BackoffBounds) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, restart: {backoff: {initial: 5s, max: 1s}}}\n",
                      2, 57,
                      "services.a.restart.backoff.max: must not be shorter than backoff.initial");
  // An initial delay past the built-in max raises the max with it.
  auto restart =
      load("services:\n  a: {command: x, restart: {backoff: {initial: 2m}}}\n").services[0].restart;
  EXPECT_EQ(restart.backoff.max, 2min);
}

TEST(Process, Logs) {
  auto logs =
      load("services:\n  a: {command: x, logs: {max_size: 512KB, keep: 0}}\n").services[0].logs;
  EXPECT_EQ(logs.max_size, 512u * 1024);
  EXPECT_EQ(logs.keep, 0);
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, logs: {max_size: 0B}}\n", 2, 36,
                      "services.a.logs.max_size: must be more than 0B");
}

TEST(DependsOn, ShortAndLongForms) {
  auto config = load(R"(services:
  db: {command: x}
  cache: {command: x}
  migrate: {command: x, restart: {policy: never}}
  api:
    command: x
    depends_on:
      - db
      - {service: cache, condition: started, required: false}
      - {service: migrate, condition: completed}
)");
  const auto& deps = config.find("api")->depends_on;
  ASSERT_EQ(deps.size(), 3u);
  EXPECT_EQ(deps[0].service, "db");
  EXPECT_EQ(deps[0].condition, DependencyCondition::healthy);
  EXPECT_TRUE(deps[0].required);
  EXPECT_EQ(deps[1].service, "cache");
  EXPECT_EQ(deps[1].condition, DependencyCondition::started);
  EXPECT_FALSE(deps[1].required);
  EXPECT_EQ(deps[2].condition, DependencyCondition::completed);
}

TEST(DependsOn, Errors) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, depends_on: b}\n", 2, 31,
                      "services.a.depends_on: expected a list of service names or {service, "
                      "condition, required} maps, got a single value");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, depends_on: [{condition: started}]}\n", 2, 32,
                      "services.a.depends_on[0]: 'service' is missing");
  EXPECT_CONFIG_ERROR(
      "services:\n  b: {command: x}\n  a: {command: x, depends_on: [{service: b, condition: "
      "up}]}\n",
      3, 56,
      "services.a.depends_on[0].condition: expected one of started, healthy, completed, got 'up'");
}

TEST(Mesh, Defaults) {
  auto mesh = load("services: {}\n").mesh;
  EXPECT_EQ(mesh.listen, (Endpoint{"127.0.0.1", 8090}));
  EXPECT_FALSE(mesh.gateway.has_value());
  EXPECT_EQ(mesh.data_dir, "./var/meshd");
  EXPECT_EQ(mesh.log_level, "info");
  EXPECT_EQ(mesh.log_format, "text");
}

TEST(Mesh, AllFields) {
  auto mesh = load(R"(mesh:
  listen: 0.0.0.0:0
  gateway: 127.0.0.1:8000
  data_dir: /var/lib/meshd
  api_token: s3cret
  auth_reads: true
  cors_origins: [http://localhost:3000]
  log_level: debug
  log_format: json
)")
                  .mesh;
  EXPECT_EQ(mesh.listen, (Endpoint{"0.0.0.0", 0}));
  EXPECT_EQ(mesh.gateway, (Endpoint{"127.0.0.1", 8000}));
  EXPECT_EQ(mesh.data_dir, "/var/lib/meshd");
  EXPECT_EQ(mesh.api_token, "s3cret");
  EXPECT_TRUE(mesh.auth_reads);
  EXPECT_EQ(mesh.cors_origins, std::vector<std::string>{"http://localhost:3000"});
  EXPECT_EQ(mesh.log_level, "debug");
  EXPECT_EQ(mesh.log_format, "json");
}

TEST(Mesh, EmptyOrNullGatewayIsDisabled) {
  EXPECT_FALSE(load("mesh: {gateway: \"\"}\n").mesh.gateway.has_value());
  EXPECT_FALSE(load("mesh: {gateway: ~}\n").mesh.gateway.has_value());
  EXPECT_FALSE(load("mesh:\n  gateway:\n").mesh.gateway.has_value());
}

TEST(Mesh, Errors) {
  EXPECT_CONFIG_ERROR("mesh: {log_level: verbose}\n", 1, 19,
                      "mesh.log_level: expected one of trace, debug, info, warn, error, critical, "
                      "off, got 'verbose'");
  EXPECT_CONFIG_ERROR("mesh: {log_format: yaml}\n", 1, 20,
                      "mesh.log_format: expected one of text, json, got 'yaml'");
  EXPECT_CONFIG_ERROR("mesh: {listen: 8090}\n", 1, 16,
                      "mesh.listen: expected host:port, like 127.0.0.1:8080, got '8090'");
  EXPECT_CONFIG_ERROR("mesh: {data_dir: \"\"}\n", 1, 18, "mesh.data_dir: must not be empty");
}

}  // namespace
}  // namespace meshd::config
