// ${VAR} expansion at load time and ${PORT}/${INSTANCE}/${SERVICE} per instance.

#include <cstdlib>

#include "meshd/config/graph.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

std::string api_env(const std::string& value, std::map<std::string, std::string> vars) {
  auto config = load("services:\n  api:\n    command: x\n    env:\n      V: \"" + value + "\"\n",
                     "", std::move(vars));
  return config.services[0].env.at("V");
}

TEST(Expand, VariablesAndDefaults) {
  EXPECT_EQ(api_env("${HOST}:${P}", {{"HOST", "db"}, {"P", "5432"}}), "db:5432");
  EXPECT_EQ(api_env("${P:-5432}", {}), "5432");
  EXPECT_EQ(api_env("${P:-5432}", {{"P", "6000"}}), "6000");
  // As in sh, :- also applies when the variable is set but empty.
  EXPECT_EQ(api_env("${P:-5432}", {{"P", ""}}), "5432");
  EXPECT_EQ(api_env("${P:-${Q:-nested}}", {}), "nested");
  EXPECT_EQ(api_env("${P:-}", {}), "");
}

TEST(Expand, UnsetWithoutDefaultIsEmpty) {
  EXPECT_EQ(api_env("a${NOPE}b", {}), "ab");
}

TEST(Expand, DollarDollarIsALiteralDollar) {
  EXPECT_EQ(api_env("cost $$5 and $${HOME}", {{"HOME", "/root"}}), "cost $5 and ${HOME}");
  EXPECT_EQ(api_env("$HOME stays", {{"HOME", "/root"}}), "$HOME stays");
}

TEST(Expand, ValuesAreNotExpandedTwice) {
  EXPECT_EQ(api_env("${A}", {{"A", "${B}"}, {"B", "no"}}), "${B}");
}

TEST(Expand, InstanceVariablesAreLeftForLater) {
  EXPECT_EQ(api_env("${SERVICE}-${INSTANCE}:${PORT}", {{"PORT", "1"}, {"SERVICE", "s"}}),
            "${SERVICE}-${INSTANCE}:${PORT}");
  EXPECT_EQ(api_env("${PORT:-80}", {}), "${PORT:-80}");
}

TEST(Expand, ValueCanBecomeANumber) {
  auto config = load("services:\n  api:\n    command: x\n    port: ${API_PORT:-9100}\n");
  EXPECT_EQ(config.services[0].port, 9100);
}

TEST(Expand, KeysAreNotExpanded) {
  auto config =
      load("services:\n  api:\n    command: x\n    env: {\"${K}\": v}\n", "", {{"K", "X"}});
  EXPECT_EQ(config.services[0].env.count("${K}"), 1u);
}

TEST(Expand, Unterminated) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    cwd: ${HOME\n", 4, 10,
                      "unterminated '${' in '${HOME' (write $$ for a literal $)");
}

TEST(Expand, Malformed) {
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    cwd: \"${A-b}\"\n", 4, 10,
                      "malformed reference '${A-b}'; expected ${NAME} or ${NAME:-default}");
  EXPECT_CONFIG_ERROR("services:\n  api:\n    command: x\n    cwd: \"${}\"\n", 4, 10,
                      "malformed reference '${}'; expected ${NAME} or ${NAME:-default}");
}

TEST(Expand, FallsBackToTheProcessEnvironment) {
  ::setenv("MESHD_CONFIG_TEST_VAR", "from-environ", 1);
  auto config = load_string(
      "services:\n  api:\n    command: x\n    env: {V: \"${MESHD_CONFIG_TEST_VAR}\"}\n", "t.yaml");
  ::unsetenv("MESHD_CONFIG_TEST_VAR");
  EXPECT_EQ(config.services[0].env.at("V"), "from-environ");
}

TEST(Expand, GivenVariablesReplaceTheEnvironmentEntirely) {
  ::setenv("MESHD_CONFIG_TEST_VAR", "from-environ", 1);
  EXPECT_EQ(api_env("${MESHD_CONFIG_TEST_VAR}", {}), "");
  ::unsetenv("MESHD_CONFIG_TEST_VAR");
}

TEST(InstanceVars, ExpandsTheThreeNames) {
  InstanceVars vars{"hyperrag", 2, 8084};
  EXPECT_EQ(expand_instance_vars("--port ${PORT} --name ${SERVICE}-${INSTANCE}", vars),
            "--port 8084 --name hyperrag-2");
}

TEST(InstanceVars, DefaultWhenThereIsNoPort) {
  EXPECT_EQ(expand_instance_vars("${PORT:-none}/${PORT}", {"w", 0, std::nullopt}), "none/");
  EXPECT_EQ(expand_instance_vars("${PORT:-none}", {"w", 0, 81}), "81");
}

TEST(InstanceVars, LeavesEverythingElse) {
  EXPECT_EQ(expand_instance_vars("${HOME} $5 ${PORT", {"s", 0, 1}), "${HOME} $5 ${PORT");
}

TEST(InstanceVars, EscapedReferenceStaysLiteralThroughBothStages) {
  // "$${PORT}" in the file: the loader keeps it escaped, the instance stage
  // unescapes it, and the program sees the literal text.
  auto config =
      load("services:\n  api:\n    command: [x, \"$${PORT}\", \"${PORT}\"]\n    port: 9000\n");
  const auto& argv = config.services[0].command;
  EXPECT_EQ(expand_instance_vars(argv[1], {"api", 0, 9000}), "${PORT}");
  EXPECT_EQ(expand_instance_vars(argv[2], {"api", 0, 9000}), "9000");
}

}  // namespace
}  // namespace meshd::config
