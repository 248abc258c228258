// Traffic settings: balancer, hash key, breaker, outlier detection, retry.

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;
using namespace std::chrono_literals;

ServiceSpec service(const std::string& fields) {
  return load("services:\n  a: {command: x, port: 80, " + fields + "}\n").services.at(0);
}

TEST(Balancer, EveryPolicyName) {
  const std::pair<const char*, LoadBalancerPolicy> names[] = {
      {"round_robin", LoadBalancerPolicy::round_robin},
      {"weighted_round_robin", LoadBalancerPolicy::weighted_round_robin},
      {"least_connections", LoadBalancerPolicy::least_connections},
      {"least_response_time", LoadBalancerPolicy::least_response_time},
      {"random", LoadBalancerPolicy::random},
      {"power_of_two", LoadBalancerPolicy::power_of_two},
      {"consistent_hash", LoadBalancerPolicy::consistent_hash}};
  for (const auto& [name, policy] : names) {
    EXPECT_EQ(service(std::string("load_balancer: ") + name).load_balancer, policy) << name;
    EXPECT_STREQ(to_string(policy), name);
  }
}

TEST(Balancer, UnknownPolicyHasAHint) {
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, load_balancer: round-robin}\n", 2, 34,
      "services.a.load_balancer: expected one of round_robin, weighted_round_robin, "
      "least_connections, least_response_time, random, power_of_two, "
      "consistent_hash, got 'round-robin' (did you mean 'round_robin'?)");
}

TEST(Balancer, WeightSlowStartPanicTimeout) {
  auto s = service("weight: 5, slow_start: 30s, panic_threshold: 0%, timeout: 2s");
  EXPECT_EQ(s.weight, 5);
  EXPECT_EQ(s.slow_start, 30s);
  EXPECT_DOUBLE_EQ(s.panic_threshold, 0.0);
  EXPECT_EQ(s.timeout, 2s);
}

TEST(HashKeys, Forms) {
  auto header = service("load_balancer: consistent_hash, hash_key: \"header:X-User\"").hash_key;
  EXPECT_EQ(header.kind, HashKey::Kind::header);
  EXPECT_EQ(header.name, "X-User");
  auto cookie = service("hash_key: \"cookie:session\"").hash_key;
  EXPECT_EQ(cookie.kind, HashKey::Kind::cookie);
  EXPECT_EQ(cookie.name, "session");
  EXPECT_EQ(service("hash_key: client_ip").hash_key.kind, HashKey::Kind::client_ip);
  EXPECT_EQ(to_string(header), "header:X-User");
}

TEST(HashKeys, ConsistentHashDefaultsToClientIp) {
  EXPECT_EQ(service("load_balancer: consistent_hash").hash_key.kind, HashKey::Kind::client_ip);
  EXPECT_EQ(service("load_balancer: random").hash_key.kind, HashKey::Kind::none);
}

TEST(HashKeys, Errors) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, hash_key: \"header:\"}\n", 2, 29,
                      "services.a.hash_key: expected header:NAME, cookie:NAME or client_ip, got "
                      "'header:'");
}

TEST(CircuitBreaker, Fields) {
  auto cb = service(
                "circuit_breaker: {failure_rate: 25%, slow_call_rate: 80%, slow_call_duration: 2s, "
                "window: "
                "50, minimum_calls: 5, open_for: 5s, max_open_for: 1m, half_open_calls: 2, "
                "max_half_open: "
                "10s}")
                .circuit_breaker;
  EXPECT_TRUE(cb.enabled);
  EXPECT_DOUBLE_EQ(cb.failure_rate, 0.25);
  EXPECT_DOUBLE_EQ(cb.slow_call_rate, 0.8);
  EXPECT_EQ(cb.slow_call_duration, 2s);
  EXPECT_EQ(cb.window_kind, CircuitBreakerSpec::WindowKind::count);
  EXPECT_EQ(cb.window_calls, 50);
  EXPECT_EQ(cb.minimum_calls, 5);
  EXPECT_EQ(cb.open_for, 5s);
  EXPECT_EQ(cb.max_open_for, 60s);
  EXPECT_EQ(cb.half_open_calls, 2);
  EXPECT_EQ(cb.max_half_open, 10s);
}

TEST(CircuitBreaker, WindowAsADurationIsATimeWindow) {
  auto cb = service("circuit_breaker: {window: 30s}").circuit_breaker;
  EXPECT_EQ(cb.window_kind, CircuitBreakerSpec::WindowKind::time);
  EXPECT_EQ(cb.window_time, 30s);
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, circuit_breaker: {window: 0}}\n", 2, 45,
                      "services.a.circuit_breaker.window: expected an integer from 1 to 100000, "
                      "got '0'");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, circuit_breaker: {window: soon}}\n", 2, 45,
                      "services.a.circuit_breaker.window: expected a duration like 250ms, 2s or "
                      "5m, got 'soon'");
}

TEST(CircuitBreaker, FalseOrEnabledFalseDisables) {
  EXPECT_FALSE(service("circuit_breaker: false").circuit_breaker.enabled);
  EXPECT_FALSE(service("circuit_breaker: {enabled: false}").circuit_breaker.enabled);
  EXPECT_TRUE(service("circuit_breaker: true").circuit_breaker.enabled);
}

TEST(CircuitBreaker, DefaultsCanBeTurnedOffPerService) {
  auto config = load(
      "defaults: {circuit_breaker: {failure_rate: 30%}}\nservices:\n"
      "  a: {command: x}\n  b: {command: x, circuit_breaker: false}\n");
  EXPECT_TRUE(config.services[0].circuit_breaker.enabled);
  EXPECT_DOUBLE_EQ(config.services[0].circuit_breaker.failure_rate, 0.3);
  EXPECT_FALSE(config.services[1].circuit_breaker.enabled);
}

TEST(CircuitBreaker, Errors) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, circuit_breaker: {failure_rate: 0%}}\n", 2, 51,
                      "services.a.circuit_breaker.failure_rate: 0% would trip on every call; use "
                      "enabled: false to turn the breaker off");
  EXPECT_CONFIG_ERROR(
      "services:\n  a: {command: x, circuit_breaker: {open_for: 1m, max_open_for: 30s}}\n", 2, 65,
      "services.a.circuit_breaker.max_open_for: must not be shorter than open_for");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, circuit_breaker: off-ish}\n", 2, 36,
                      "services.a.circuit_breaker: expected true or false, got 'off-ish'");
}

TEST(OutlierDetection, FieldsAndDisabling) {
  auto od =
      service(
          "outlier_detection: {consecutive_failures: 3, ejection_time: 10s, max_ejection_time: 2m, "
          "max_ejected: 30%}")
          .outlier_detection;
  EXPECT_TRUE(od.enabled);
  EXPECT_EQ(od.consecutive_failures, 3);
  EXPECT_EQ(od.ejection_time, 10s);
  EXPECT_EQ(od.max_ejection_time, 120s);
  EXPECT_DOUBLE_EQ(od.max_ejected, 0.3);
  EXPECT_FALSE(service("outlier_detection: false").outlier_detection.enabled);
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, outlier_detection: {max_ejected: 0.3}}\n", 2,
                      52,
                      "services.a.outlier_detection.max_ejected: expected a percentage from 0% to "
                      "100%, like 50%, got '0.3'");
}

TEST(Retry, Fields) {
  auto retry =
      service("retry: {attempts: 3, backoff: 50ms, on: [5xx, timeout], budget: 10%}").retry;
  EXPECT_EQ(retry.attempts, 3);
  EXPECT_EQ(retry.backoff, 50ms);
  EXPECT_EQ(retry.on, retry_5xx | retry_timeout);
  EXPECT_DOUBLE_EQ(retry.budget, 0.1);
  EXPECT_EQ(service("retry: {on: []}").retry.on, 0u);
  EXPECT_EQ(service("weight: 1").retry.on, retry_connect_failure | retry_reset);
}

TEST(Retry, Errors) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, retry: {attempts: 0}}\n", 2, 37,
                      "services.a.retry.attempts: expected an integer from 1 to 10, got '0'");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, retry: {on: [5xx, connect_failure]}}\n", 2, 37,
                      "services.a.retry.on[1]: expected one of connect-failure, reset, 5xx, "
                      "timeout, got 'connect_failure' (did you mean 'connect-failure'?)");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, retry: {on: 5xx}}\n", 2, 31,
                      "services.a.retry.on: expected a list like [connect-failure, reset, 5xx, "
                      "timeout], got a single value");
}

}  // namespace
}  // namespace meshd::config
