// Reading the file: errors before any field is looked at, ConfigError's
// format, YAML features, and paths.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

TEST(ConfigErrorFormat, WithAndWithoutPosition) {
  ConfigError positioned("c.yaml", 12, 5, "unknown key 'helth'");
  EXPECT_STREQ(positioned.what(), "c.yaml:12:5: unknown key 'helth'");
  EXPECT_EQ(positioned.detail(), "unknown key 'helth'");
  EXPECT_EQ(positioned.line(), 12);
  EXPECT_EQ(positioned.column(), 5);
  ConfigError unpositioned("c.yaml", 0, 0, "cannot read the file");
  EXPECT_STREQ(unpositioned.what(), "c.yaml: cannot read the file");
}

TEST(LoaderBasics, MinimalService) {
  auto config = load("version: 1\nservices:\n  api:\n    command: ./api --port ${PORT}\n");
  ASSERT_EQ(config.services.size(), 1u);
  EXPECT_EQ(config.version, 1);
  EXPECT_EQ(config.source_path, "test.yaml");
  EXPECT_EQ(config.services[0].name, "api");
  EXPECT_EQ(config.services[0].command, (std::vector<std::string>{"./api", "--port", "${PORT}"}));
}

TEST(LoaderBasics, ServicesKeepFileOrder) {
  auto config =
      load("services:\n  zeta: {command: x}\n  alpha: {command: x}\n  mid: {command: x}\n");
  ASSERT_EQ(config.services.size(), 3u);
  EXPECT_EQ(config.services[0].name, "zeta");
  EXPECT_EQ(config.services[1].name, "alpha");
  EXPECT_EQ(config.services[2].name, "mid");
}

TEST(LoaderBasics, VersionMustBeOne) {
  EXPECT_CONFIG_ERROR("version: 2\nservices: {}\n", 1, 10,
                      "version: meshd reads version 1 files, got '2'");
  EXPECT_NO_THROW(load("services: {}\n"));  // version may be left out
}

TEST(LoaderBasics, EmptyFileAndWrongTopLevel) {
  auto empty = testing::load_error("");
  EXPECT_STREQ(empty.what(),
               "test.yaml: the file is empty; expected a map with at least 'services:'");
  EXPECT_CONFIG_ERROR("- a\n- b\n", 1, 1, "expected a map at the top level, got a list");
}

TEST(LoaderBasics, YamlSyntaxErrorHasAPosition) {
  // yaml-cpp's own message, at the '}' that cannot close the list.
  EXPECT_CONFIG_ERROR("services:\n  a: {command: [x, y}\n", 2, 21, "illegal flow end");
}

TEST(LoaderBasics, DuplicateKeys) {
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x}\n  a: {command: y}\n", 3, 3,
                      "duplicate key 'a' (first at line 2)");
}

TEST(LoaderBasics, OneDocumentOnly) {
  EXPECT_CONFIG_ERROR("services: {}\n---\nservices: {}\n", 0, 0,
                      "the file holds 2 YAML documents; meshd reads exactly one");
}

TEST(LoaderBasics, NonStringKeys) {
  EXPECT_CONFIG_ERROR("services:\n  ? [a, b]\n  : {command: x}\n", 2, 5,
                      "map keys must be plain strings");
}

TEST(LoaderBasics, AnchorsAndMergeKeys) {
  auto config = load(R"(services:
  a: &base
    command: ./app
    env: {A: "1", B: "2"}
    port: 7000
  b:
    <<: *base
    port: 7001
)");
  const auto& b = *config.find("b");
  EXPECT_EQ(b.command, std::vector<std::string>{"./app"});
  EXPECT_EQ(b.port, 7001);  // explicit keys beat merged ones
  EXPECT_EQ(b.env.at("B"), "2");
}

TEST(LoaderBasics, MergeKeyNeedsAMap) {
  EXPECT_CONFIG_ERROR("services:\n  a:\n    <<: 5\n    command: x\n", 3, 9,
                      "'<<' merges maps only, got a single value");
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    dir_ = std::filesystem::temp_directory_path() /
           ("meshd-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "conf");
    path_ = dir_ / "conf" / "meshd.yaml";
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  std::string path() const { return path_.string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

TEST(LoadFile, CwdIsKeptAsWritten) {
  // Relative paths resolve from meshd's working directory, at launch time
  // (types.hpp), not from the file's directory.
  TempFile file("services:\n  a: {command: x, cwd: bin}\n  b: {command: x}\n");
  auto config = load_file(file.path());
  EXPECT_EQ(config.source_path, file.path());
  EXPECT_EQ(config.find("a")->cwd, "bin");
  EXPECT_EQ(config.find("b")->cwd, "");
}

TEST(LoadFile, ErrorsNameTheFile) {
  TempFile file("services:\n  a: {comand: x}\n");
  try {
    load_file(file.path());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), file.path());
    EXPECT_EQ(std::string(e.what()),
              file.path() + ":2:7: unknown key 'comand' in service 'a' (did you mean 'command'?)");
  }
}

TEST(LoadFile, MissingFile) {
  try {
    load_file("/nonexistent/meshd.yaml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0);
    EXPECT_STREQ(e.what(),
                 "/nonexistent/meshd.yaml: cannot read the file: No such file or directory");
  }
}

TEST(LoadFile, Directory) {
  try {
    load_file(std::filesystem::temp_directory_path().string());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0);
    EXPECT_EQ(e.detail(), "cannot read the file: it is a directory");
  }
}

}  // namespace
}  // namespace meshd::config
