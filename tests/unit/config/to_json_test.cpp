#include "meshd/config/to_json.hpp"

#include <gtest/gtest.h>

#include "meshd/config/loader.hpp"

namespace meshd::config {
namespace {

TEST(ToJson, SpellsValuesAsTheFileDoesAndRedactsSecrets) {
  auto cfg = load_string(
      "version: 1\nmesh: {api_token: abc}\nservices:\n  api:\n    command: [x]\n    port: 9000\n"
      "    env: {API_KEY: k, MODE: fast}\n    health: {type: http, path: /h, interval: 2s}\n"
      "    circuit_breaker: {failure_rate: 40%, window: 30s}\n",
      "t.yaml");
  auto j = to_json(cfg);
  EXPECT_EQ(j["mesh"]["api_token"], "<redacted>");
  auto api = j["services"]["api"];
  EXPECT_EQ(api["env"]["API_KEY"], "<redacted>");
  EXPECT_EQ(api["env"]["MODE"], "fast");
  EXPECT_EQ(api["health"]["interval"], "2s");
  EXPECT_EQ(api["health"]["path"], "/h");
  EXPECT_EQ(api["circuit_breaker"]["failure_rate"], "40%");
  EXPECT_EQ(api["circuit_breaker"]["window"], "30s");
  EXPECT_EQ(api["port"], 9000);
  EXPECT_EQ(to_json(cfg, false)["mesh"]["api_token"], "abc");
  EXPECT_TRUE(looks_secret("db_password"));
  EXPECT_FALSE(looks_secret("LOG_LEVEL"));
}

}  // namespace
}  // namespace meshd::config
