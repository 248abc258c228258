// The health block: type rules, fields, and what each type requires.

#include "meshd/config/health_check.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;
using namespace std::chrono_literals;

HealthSpec health_of(const std::string& service_body) {
  return load("services:\n  a: {" + service_body + "}\n").services.at(0).health;
}

TEST(HealthType, NoBlockMeansNone) {
  EXPECT_EQ(health_of("command: x, port: 1").type, CheckType::none);
}

TEST(HealthType, InferredFromTypeSpecificFields) {
  EXPECT_EQ(health_of("command: x, port: 1, health: {path: /ready}").type, CheckType::http);
  EXPECT_EQ(health_of("command: x, port: 1, health: {expect_status: 204}").type, CheckType::http);
  EXPECT_EQ(health_of("command: x, health: {command: [check]}").type, CheckType::exec);
  EXPECT_EQ(health_of("command: x, health: {ttl: 30s}").type, CheckType::ttl);
}

TEST(HealthType, OtherwiseTcpWhenThereIsAnEndpoint) {
  EXPECT_EQ(health_of("command: x, port: 1, health: {interval: 5s}").type, CheckType::tcp);
  EXPECT_EQ(health_of("address: h:1, health: {}").type, CheckType::tcp);
}

TEST(HealthType, OtherwiseAnErrorWhenThereIsNothingToProbe) {
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: x\n    health: {interval: 5s}\n", 4, 13,
                      "services.a.health: set 'type' (http, tcp, exec, ttl, notify or none); the "
                      "service has no port or address for the default tcp check");
}

TEST(HealthType, ConflictingHintsNeedAnExplicitType) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a:\n    command: x\n    port: 1\n    health: {path: /h, command: [c]}\n", 5, 13,
      "services.a.health: cannot tell the check type from both 'path' and 'command'; set 'type'");
}

TEST(HealthType, ExplicitTypeWins) {
  auto health = health_of("command: x, port: 1, health: {type: tcp, path: /ignored}");
  EXPECT_EQ(health.type, CheckType::tcp);
  EXPECT_EQ(health_of("command: x, health: {type: notify}").type, CheckType::notify);
  EXPECT_EQ(health_of("command: x, health: {type: none}").type, CheckType::none);
}

TEST(HealthType, UnknownTypeHasAHint) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, health: {type: htp}}\n", 2, 34,
                      "services.a.health.type: expected one of http, tcp, exec, ttl, notify, none, "
                      "got 'htp' (did you mean 'http'?)");
}

TEST(HealthFields, AllOfThem) {
  auto health = load(R"(services:
  a:
    command: x
    port: 8080
    health:
      type: http
      path: /healthz
      expect_status: 200-299
      body_contains: ok
      interval: 5s
      timeout: 500ms
      jitter: 1s
      healthy_threshold: 2
      unhealthy_threshold: 4
      start_period: 1m
      unhealthy_interval: 1s
)")
                    .services[0]
                    .health;
  EXPECT_EQ(health.path, "/healthz");
  EXPECT_EQ(health.expect_status.low, 200);
  EXPECT_EQ(health.expect_status.high, 299);
  EXPECT_EQ(health.body_contains, "ok");
  EXPECT_EQ(health.interval, 5s);
  EXPECT_EQ(health.timeout, 500ms);
  EXPECT_EQ(health.jitter, 1s);
  EXPECT_EQ(health.healthy_threshold, 2);
  EXPECT_EQ(health.unhealthy_threshold, 4);
  EXPECT_EQ(health.start_period, 60s);
  EXPECT_EQ(health.unhealthy_interval, 1s);
}

TEST(HealthFields, ExpectStatusForms) {
  auto single = health_of("command: x, port: 1, health: {expect_status: 204}").expect_status;
  EXPECT_EQ(single.low, 204);
  EXPECT_EQ(single.high, 204);
  auto range = health_of("command: x, port: 1, health: {expect_status: \"200-399\"}").expect_status;
  EXPECT_EQ(range.low, 200);
  EXPECT_EQ(range.high, 399);
  for (const char* bad : {"99", "600", "300-200", "2xx", "200-", "-"}) {
    auto error = testing::load_error(
        std::string("services:\n  a: {command: x, port: 1, health: {expect_status: \"") + bad +
        "\"}}\n");
    EXPECT_EQ(error.detail(), std::string("services.a.health.expect_status: expected an HTTP "
                                          "status like 200 or a range like 200-399, got '") +
                                  bad + "'");
    EXPECT_EQ(error.line(), 2);
    EXPECT_EQ(error.column(), 52);
  }
}

TEST(HealthFields, PathMustBeAbsolute) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, port: 1, health: {path: health}}\n", 2, 43,
                      "services.a.health.path: must start with '/', got 'health'");
}

TEST(HealthRequirements, ExecNeedsACommand) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, health: {type: exec}}\n", 2, 27,
                      "services.a.health: an exec check needs 'command'");
}

TEST(HealthRequirements, TtlNeedsTtl) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, health: {type: ttl}}\n", 2, 27,
      "services.a.health: a ttl check needs 'ttl', the longest time between passes");
  EXPECT_EQ(health_of("command: x, health: {type: ttl, ttl: 1m}").ttl, 60s);
}

TEST(HealthLimits, OneParserForTheFileAndTheRegistrationApi) {
  // The file and a registration's JSON check are read by the same parser:
  // the same minimum interval, with the same message, whichever way it came.
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, port: 1, health: {interval: 50ms}}\n", 2, 47,
                      "services.a.health.interval: must be at least 100ms, got '50ms'");
  auto from_json = parse_health_json({{"type", "tcp"}, {"interval", "50ms"}}, "check");
  ASSERT_FALSE(from_json.ok());
  EXPECT_EQ(from_json.error().message, "check.interval: must be at least 100ms, got '50ms'");

  auto same = parse_health_json({{"type", "http"},
                                 {"path", "/ready"},
                                 {"expect_status", 204},
                                 {"interval", "3s"},
                                 {"healthy_threshold", 2}},
                                "check");
  ASSERT_TRUE(same.ok()) << same.error().message;
  auto file = health_of(
      "command: x, port: 1, health: {type: http, path: /ready, expect_status: 204, "
      "interval: 3s, healthy_threshold: 2}");
  EXPECT_EQ(same->path, file.path);
  EXPECT_EQ(same->expect_status.low, file.expect_status.low);
  EXPECT_EQ(same->expect_status.high, 204);
  EXPECT_EQ(same->interval, file.interval);
  EXPECT_EQ(same->healthy_threshold, file.healthy_threshold);
}

TEST(HealthRequirements, HttpAndTcpNeedAnEndpoint) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, health: {type: http}}\n", 2, 34,
                      "services.a.health: a http check needs the service to have a 'port' or an "
                      "'address'");
}

TEST(HealthRequirements, CheckedOnTheMergedService) {
  // defaults name an http check; the service supplies the port it needs.
  auto config = load(
      "defaults: {health: {type: http, path: /health}}\nservices:\n  a: {command: x, port: 80}\n");
  EXPECT_EQ(config.services[0].health.type, CheckType::http);
  EXPECT_CONFIG_ERROR(
      "defaults: {health: {type: http}}\nservices:\n  a: {command: x, port: 80}\n  w: {command: "
      "x}\n",
      1, 27, "services.w.health: a http check needs the service to have a 'port' or an 'address'");
}

}  // namespace
}  // namespace meshd::config
