// Every file in config/examples/ loads, with each of its environments, so
// the examples in the docs cannot rot.

#include <cstdlib>
#include <filesystem>

#include "test_support.hpp"

namespace meshd::config {
namespace {

std::filesystem::path examples_dir() {
  const char* dir = std::getenv("MESHD_SOURCE_DIR");
  std::filesystem::path root =
      dir ? dir : std::filesystem::path(__FILE__).parent_path() / "../../..";
  return (root / "config/examples").lexically_normal();
}

TEST(Examples, EveryFileLoadsInEveryEnvironment) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(examples_dir())) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    LoadOptions options;
    options.variables = std::map<std::string, std::string>{};
    Config base;
    ASSERT_NO_THROW(base = load_file(entry.path().string(), options)) << entry.path();
    EXPECT_FALSE(base.services.empty()) << entry.path();
    for (const auto& environment : {"dev", "production"}) {
      options.environment = environment;
      try {
        load_file(entry.path().string(), options);
      } catch (const ConfigError& e) {
        // Only "this file has no such environment" is acceptable here.
        EXPECT_NE(e.detail().find("unknown environment"), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GE(files, 2);
}

TEST(Examples, ExternalAndExec) {
  LoadOptions options;
  options.variables = std::map<std::string, std::string>{{"MESHD_API_TOKEN", "t"}};
  options.environment = "production";
  auto config = load_file((examples_dir() / "external_and_exec.yaml").string(), options);
  EXPECT_EQ(config.find("api")->health.type, CheckType::exec);
  EXPECT_EQ(config.find("api")->command,
            (std::vector<std::string>{"./build/api", "--listen", "127.0.0.1:${PORT}", "--db",
                                      "postgres://127.0.0.1:5432/app"}));
  EXPECT_EQ(config.find("search")->health.type, CheckType::http);
  EXPECT_EQ(config.find("search")->instance_count(), 2);
  EXPECT_EQ(config.find("worker")->health.type, CheckType::ttl);
  EXPECT_EQ(config.find("postgres")->health.interval, std::chrono::seconds(5));
  EXPECT_TRUE(config.mesh.auth_reads);
  EXPECT_EQ(config.mesh.api_token, "t");
  EXPECT_EQ(config.mesh.data_dir, "./var/meshd");
}

}  // namespace
}  // namespace meshd::config
