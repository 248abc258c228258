// Command strings are split like sh splits words, without any shell.

#include "config/shell_split.hpp"

#include "test_support.hpp"

namespace meshd::config {
namespace {

using detail::shell_split;
using Words = std::vector<std::string>;

TEST(ShellSplit, BlanksSeparateWords) {
  EXPECT_EQ(shell_split("  ./app  --port\t${PORT}\n-v ").words,
            (Words{"./app", "--port", "${PORT}", "-v"}));
  EXPECT_EQ(shell_split("").words, Words{});
}

TEST(ShellSplit, Quotes) {
  EXPECT_EQ(shell_split(R"(echo 'a  b' "c  d" e'f'"g")").words,
            (Words{"echo", "a  b", "c  d", "efg"}));
  EXPECT_EQ(shell_split(R"(x '' "")").words, (Words{"x", "", ""}));
  EXPECT_EQ(shell_split(R"('it"s' "it's")").words, (Words{"it\"s", "it's"}));
}

TEST(ShellSplit, BackslashEscapes) {
  EXPECT_EQ(shell_split(R"(a\ b c\'d \\)").words, (Words{"a b", "c'd", "\\"}));
  // Inside double quotes only \" \\ \$ \` escape; other backslashes stay.
  EXPECT_EQ(shell_split(R"("q\"q" "s\\s" "\n" "\$x")").words, (Words{"q\"q", "s\\s", "\\n", "$x"}));
  // Inside single quotes nothing escapes.
  EXPECT_EQ(shell_split(R"('a\b')").words, (Words{"a\\b"}));
  EXPECT_EQ(shell_split("a\\\nb").words, (Words{"ab"}));
}

TEST(ShellSplit, GlobsStayLiteral) {
  EXPECT_EQ(shell_split("ls *.log ?").words, (Words{"ls", "*.log", "?"}));
}

TEST(ShellSplit, Errors) {
  EXPECT_EQ(shell_split("echo 'open").error, "unterminated single quote");
  EXPECT_EQ(shell_split("echo \"open").error, "unterminated double quote");
  EXPECT_EQ(shell_split("echo \\").error, "a backslash at the end escapes nothing");
  for (const char* text : {"a | b", "a; b", "a && b", "a > f", "a < f", "a `b`"})
    EXPECT_TRUE(shell_split(text).error.has_value()) << text;
  EXPECT_EQ(shell_split("a '|' \"&\" \\;").words, (Words{"a", "|", "&", ";"}));
}

TEST(CommandField, StringIsSplitAndListIsKept) {
  auto config = testing::load(
      "services:\n"
      "  a: {command: \"./app --name 'two words'\"}\n"
      "  b: {command: [\"./app\", \"two words\", \"'q'\"]}\n");
  EXPECT_EQ(config.services[0].command, (Words{"./app", "--name", "two words"}));
  EXPECT_EQ(config.services[1].command, (Words{"./app", "two words", "'q'"}));
}

TEST(CommandField, ShellSyntaxIsAnErrorAtTheValue) {
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: ./app | tee log\n", 3, 14,
                      "services.a.command: '|' is shell syntax, but meshd runs the command "
                      "without a shell; quote it, or use [\"sh\", \"-c\", \"...\"]");
}

TEST(CommandField, EmptyCommands) {
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: \"  \"\n", 3, 14,
                      "services.a.command: the command is empty");
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: []\n", 3, 14,
                      "services.a.command: the command is empty");
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: [\"\", x]\n", 3, 14,
                      "services.a.command: the program name is empty");
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: [x, [y]]\n", 3, 18,
                      "services.a.command[1]: expected a string, got a list");
}

TEST(CommandField, HealthExecCommandToo) {
  auto config = testing::load(
      "services:\n  a:\n    command: x\n    health: {type: exec, command: \"check --quiet 'a "
      "b'\"}\n");
  EXPECT_EQ(config.services[0].health.command, (Words{"check", "--quiet", "a b"}));
  EXPECT_CONFIG_ERROR("services:\n  a:\n    command: x\n    health: {type: exec, command: \"'\"}\n",
                      4, 35, "services.a.health.command: unterminated single quote");
}

}  // namespace
}  // namespace meshd::config
