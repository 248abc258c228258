#pragma once

// Helpers shared by the config tests: load YAML text with no environment
// variables leaking in, and assert an error's position and message.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "meshd/config/loader.hpp"

namespace meshd::config::testing {

inline Config load(const std::string& yaml, const std::string& environment = "",
                   std::map<std::string, std::string> variables = {}) {
  LoadOptions options;
  options.environment = environment;
  options.variables = std::move(variables);
  return load_string(yaml, "test.yaml", options);
}

/// The ConfigError that loading `yaml` throws; fails the test if none.
inline ConfigError load_error(const std::string& yaml, const std::string& environment = "",
                              std::map<std::string, std::string> variables = {}) {
  try {
    load(yaml, environment, std::move(variables));
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
  return ConfigError("", 0, 0, "");
}

}  // namespace meshd::config::testing

/// Asserts that loading `yaml` fails at line:column with exactly `detail`.
#define EXPECT_CONFIG_ERROR(yaml, expected_line, expected_column, expected_detail) \
  do {                                                                             \
    auto error_ = ::meshd::config::testing::load_error(yaml);                      \
    EXPECT_EQ(error_.line(), expected_line) << error_.what();                      \
    EXPECT_EQ(error_.column(), expected_column) << error_.what();                  \
    EXPECT_EQ(error_.detail(), expected_detail);                                   \
  } while (0)
