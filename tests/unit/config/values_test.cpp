// The value syntaxes: durations, sizes, percentages, endpoints, and how a bad
// value of each kind is reported in a file.

#include "meshd/config/values.hpp"

#include "test_support.hpp"

namespace meshd::config {
namespace {

using std::chrono::milliseconds;

TEST(Durations, AcceptedSpellings) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0.1s"), milliseconds(100));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("1m30s"), milliseconds(90000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(Durations, RejectedSpellings) {
  for (const char* text : {"", "5", "250", "1.5", "-1s", "2 s", "2S", "s", "1.s", "1d", "0.5ms",
                           "2sec", "1.0001s", "99999999999h"})
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
}

TEST(Durations, FormatIsTheShortestExactSpelling) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(300000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(7200000)), "2h");
}

TEST(Sizes, BinaryMultiples) {
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size("512KB"), 512u * 1024);
  EXPECT_EQ(parse_size("10MB"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GB"), 1024ull * 1024 * 1024);
  EXPECT_EQ(parse_size("1gib"), 1024ull * 1024 * 1024);
  EXPECT_EQ(parse_size("1.5KB"), 1536u);
  for (const char* text : {"10", "10 MB", "MB", "10TB", "-1MB", "5000000GB"})
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  EXPECT_EQ(format_size(10u * 1024 * 1024), "10MB");
  EXPECT_EQ(format_size(1500), "1500B");
}

TEST(Percentages, OnlyWithTheSign) {
  EXPECT_DOUBLE_EQ(*parse_percent("50%"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_percent("0%"), 0.0);
  EXPECT_DOUBLE_EQ(*parse_percent("100%"), 1.0);
  EXPECT_DOUBLE_EQ(*parse_percent("12.5%"), 0.125);
  for (const char* text : {"50", "0.5", "101%", "-5%", "%", "50 %"})
    EXPECT_EQ(parse_percent(text), std::nullopt) << text;
}

TEST(Endpoints, HostAndPort) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:8090"), (Endpoint{"127.0.0.1", 8090}));
  EXPECT_EQ(parse_endpoint("localhost:0"), (Endpoint{"localhost", 0}));
  EXPECT_EQ(parse_endpoint("[::1]:80"), (Endpoint{"::1", 80}));
  for (const char* text : {"8090", ":8090", "host:", "host:65536", "::1:80", "host:port", "h:-1"})
    EXPECT_EQ(parse_endpoint(text), std::nullopt) << text;
}

std::string service_with(const std::string& line) {
  return "services:\n  api:\n    command: x\n    port: 9000\n    " + line + "\n";
}

TEST(FieldErrors, BareNumberForADuration) {
  EXPECT_CONFIG_ERROR(service_with("timeout: 5"), 5, 14,
                      "services.api.timeout: expected a duration like 250ms, 2s or 5m, got '5' "
                      "(a bare number has no unit)");
}

TEST(FieldErrors, DurationWithAWrongUnit) {
  EXPECT_CONFIG_ERROR(service_with("health: {interval: 2sec}"), 5, 24,
                      "services.api.health.interval: expected a duration like 250ms, 2s or 5m, "
                      "got '2sec'");
}

TEST(FieldErrors, DurationBelowItsMinimum) {
  EXPECT_CONFIG_ERROR(service_with("timeout: 0s"), 5, 14,
                      "services.api.timeout: must be at least 1ms, got '0s'");
}

TEST(FieldErrors, Size) {
  EXPECT_CONFIG_ERROR(service_with("logs: {max_size: 10}"), 5, 22,
                      "services.api.logs.max_size: expected a size like 512KB, 10MB or 1GB, got "
                      "'10'");
}

TEST(FieldErrors, PercentWithoutTheSign) {
  EXPECT_CONFIG_ERROR(service_with("panic_threshold: 0.5"), 5, 22,
                      "services.api.panic_threshold: expected a percentage from 0% to 100%, like "
                      "50%, got '0.5'");
}

TEST(FieldErrors, Boolean) {
  EXPECT_CONFIG_ERROR(service_with("circuit_breaker: {enabled: maybe}"), 5, 32,
                      "services.api.circuit_breaker.enabled: expected true or false, got 'maybe'");
}

TEST(FieldErrors, IntegerRanges) {
  EXPECT_CONFIG_ERROR(service_with("replicas: 0"), 5, 15,
                      "services.api.replicas: expected an integer from 1 to 1000, got '0'");
  EXPECT_CONFIG_ERROR(service_with("weight: 1001"), 5, 13,
                      "services.api.weight: expected an integer from 1 to 1000, got '1001'");
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    port: 70000\n", 4, 11,
                      "services.api.port: expected an integer from 1 to 65535, got '70000'");
  EXPECT_CONFIG_ERROR(service_with("health: {unhealthy_threshold: 0}"), 5, 35,
                      "services.api.health.unhealthy_threshold: expected an integer from 1 to "
                      "1000, got '0'");
  EXPECT_CONFIG_ERROR(service_with("replicas: two"), 5, 15,
                      "services.api.replicas: expected an integer from 1 to 1000, got 'two'");
}

TEST(FieldErrors, WrongTypeNamesFieldAndExpectedType) {
  EXPECT_CONFIG_ERROR(service_with("tags: {a: b}"), 5, 11,
                      "services.api.tags: expected a list of strings, got a map");
  EXPECT_CONFIG_ERROR(service_with("health: [tcp]"), 5, 13,
                      "services.api.health: expected a map, got a list");
  EXPECT_CONFIG_ERROR(service_with("replicas: [1]"), 5, 15,
                      "services.api.replicas: expected an integer from 1 to 1000, got a list");
  EXPECT_CONFIG_ERROR(service_with("env: [A=1]"), 5, 10,
                      "services.api.env: expected a map of names to values, got a list");
  EXPECT_CONFIG_ERROR("services: [api]\n", 1, 11,
                      "services: expected a map from service names to their settings, got a list");
}

TEST(FieldErrors, ReplicasRunningPastThePortRange) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    replicas: 3\n    port: 65534\n", 5,
                      11, "services.api.port: 3 replicas from port 65534 run past port 65535");
}

TEST(FieldErrors, NumbersAcceptedForStringFields) {
  auto config = testing::load(service_with("env: {WORKERS: 4, EMPTY: }"));
  EXPECT_EQ(config.services[0].env.at("WORKERS"), "4");
  EXPECT_EQ(config.services[0].env.at("EMPTY"), "");
}

}  // namespace
}  // namespace meshd::config
