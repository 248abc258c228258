// Unknown keys are errors in every block, at the key's own line and column,
// with a hint when a valid key is close.

#include "test_support.hpp"

namespace meshd::config {
namespace {

TEST(UnknownKeys, TopLevelWithHint) {
  EXPECT_CONFIG_ERROR("version: 1\nservics:\n  a: {command: x}\n", 2, 1,
                      "unknown key 'servics' at the top level (did you mean 'services'?)");
}

TEST(UnknownKeys, TopLevelWithoutHint) {
  EXPECT_CONFIG_ERROR("zzz: 1\n", 1, 1, "unknown key 'zzz' at the top level");
}

TEST(UnknownKeys, Mesh) {
  EXPECT_CONFIG_ERROR("mesh:\n  listn: 127.0.0.1:1\n", 2, 3,
                      "unknown key 'listn' in mesh (did you mean 'listen'?)");
}

TEST(UnknownKeys, ServiceMatchesTheHeaderExample) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    helth: {type: tcp}\n", 4, 5,
                      "unknown key 'helth' in service 'api' (did you mean 'health'?)");
}

TEST(UnknownKeys, PrefixHint) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    health_check: {}\n", 4, 5,
                      "unknown key 'health_check' in service 'api' (did you mean 'health'?)");
}

TEST(UnknownKeys, Health) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    health:\n      intervl: 2s\n", 5, 7,
                      "unknown key 'intervl' in services.api.health (did you mean 'interval'?)");
}

TEST(UnknownKeys, RestartAndBackoff) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    restart: {polcy: never}\n", 4, 15,
                      "unknown key 'polcy' in services.api.restart (did you mean 'policy'?)");
  EXPECT_CONFIG_ERROR(
      "services:\n  api:\n    command: x\n    restart: {backoff: {inital: 1s}}\n", 4, 25,
      "unknown key 'inital' in services.api.restart.backoff (did you mean 'initial'?)");
}

TEST(UnknownKeys, ShutdownAndLogs) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    shutdown: {signl: TERM}\n", 4, 16,
                      "unknown key 'signl' in services.api.shutdown (did you mean 'signal'?)");
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    logs: {max: 1MB}\n", 4, 12,
                      "unknown key 'max' in services.api.logs (did you mean 'max_size'?)");
}

TEST(UnknownKeys, CircuitBreakerOutlierRetry) {
  EXPECT_CONFIG_ERROR(
      "services:\n  api:\n    command: x\n    circuit_breaker: {failure_ratio: 50%}\n", 4, 23,
      "unknown key 'failure_ratio' in services.api.circuit_breaker (did you mean 'failure_rate'?)");
  EXPECT_CONFIG_ERROR(
      "services:\n  api:\n    command: x\n    outlier_detection: {ejection: 1s}\n", 4, 25,
      "unknown key 'ejection' in services.api.outlier_detection (did you mean 'ejection_time'?)");
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    retry: {attempt: 2}\n", 4, 13,
                      "unknown key 'attempt' in services.api.retry (did you mean 'attempts'?)");
}

TEST(UnknownKeys, TestEntriesAndTheirRequestAndExpect) {
  const char* base = "services:\n  api:\n    command: x\n    tests:\n";
  EXPECT_CONFIG_ERROR(std::string(base) + "      - {name: t, reqest: {}}\n", 5, 19,
                      "unknown key 'reqest' in services.api.tests[0] (did you mean 'request'?)");
  EXPECT_CONFIG_ERROR(std::string(base) + "      - name: t\n        request: {methd: GET}\n", 6, 19,
                      "unknown key 'methd' in services.api.tests[0].request (did you mean "
                      "'method'?)");
  EXPECT_CONFIG_ERROR(std::string(base) + "      - name: t\n        expect: {code: 200}\n", 6, 18,
                      "unknown key 'code' in services.api.tests[0].expect");
}

TEST(UnknownKeys, DependsOnLongForm) {
  EXPECT_CONFIG_ERROR(
      "services:\n  db: {command: x}\n  api:\n    command: x\n"
      "    depends_on:\n      - db\n      - {service: db, conditon: started}\n",
      7, 23, "unknown key 'conditon' in services.api.depends_on[1] (did you mean 'condition'?)");
}

TEST(UnknownKeys, Defaults) {
  EXPECT_CONFIG_ERROR("defaults:\n  restrat: {policy: never}\nservices: {}\n", 2, 3,
                      "unknown key 'restrat' in defaults (did you mean 'restart'?)");
}

TEST(UnknownKeys, EnvironmentBlock) {
  EXPECT_CONFIG_ERROR("services:\n  api: {command: x}\nenvironments:\n  dev:\n    service: {}\n", 5,
                      5, "unknown key 'service' in environments.dev (did you mean 'services'?)");
}

TEST(UnknownKeys, InsideAnOverlayThatIsNotSelected) {
  EXPECT_CONFIG_ERROR(
      "services:\n  api: {command: x}\nenvironments:\n  production:\n"
      "    services:\n      api: {replica: 3}\n",
      6, 13,
      "unknown key 'replica' in environments.production.services.api (did you mean "
      "'replicas'?)");
}

TEST(UnknownKeys, ErrorTextCarriesFileLineAndColumn) {
  auto error = testing::load_error("mesh:\n  listn: x\n");
  EXPECT_STREQ(error.what(), "test.yaml:2:3: unknown key 'listn' in mesh (did you mean 'listen'?)");
  EXPECT_EQ(error.file(), "test.yaml");
}

}  // namespace
}  // namespace meshd::config
