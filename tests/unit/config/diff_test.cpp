// Which change a reload applies to each service: a wrong class here either
// restarts processes for nothing or leaves a process on its old command.

#include "meshd/config/diff.hpp"

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;

const char* kBase = R"(
services:
  db:
    command: ["/bin/db"]
    port: 5432
    health: {type: tcp}
  api:
    command: ["/bin/api", "--port", "${PORT}"]
    port: 8080
    env: {MODE: fast, API_TOKEN: one}
    depends_on: [db]
    load_balancer: round_robin
    tags: [v1]
  ext:
    address: ["127.0.0.1:9000"]
)";

ServiceChange change_of(const ConfigDiff& d, const std::string& name) {
  const auto* s = d.find(name);
  EXPECT_NE(s, nullptr) << name;
  return s ? s->change : ServiceChange::unchanged;
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ConfigDiff, TheSameFileIsEmpty) {
  auto d = diff_configs(load(kBase), load(kBase));
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.services.size(), 3u);
  for (const auto& s : d.services) EXPECT_EQ(s.change, ServiceChange::unchanged) << s.name;
}

TEST(ConfigDiff, AddedAndRemovedServices) {
  std::string next = with(kBase, "  ext:\n    address: [\"127.0.0.1:9000\"]\n",
                          "  worker:\n    command: [\"/bin/worker\"]\n");
  auto d = diff_configs(load(kBase), load(next));
  EXPECT_EQ(change_of(d, "ext"), ServiceChange::removed);
  EXPECT_EQ(change_of(d, "worker"), ServiceChange::added);
  EXPECT_EQ(change_of(d, "api"), ServiceChange::unchanged);
  EXPECT_FALSE(d.empty());
}

TEST(ConfigDiff, ProcessFieldsReplace) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"--port\", \"${PORT}\"]", "\"--port\", \"${PORT}\", \"--v2\"]"},  // command
           {"MODE: fast", "MODE: slow"},                                        // env
           {"API_TOKEN: one", "API_TOKEN: two"},  // a secret env value
           {"port: 8080", "port: 8070"},          // port
       }) {
    auto d = diff_configs(load(kBase), load(with(kBase, from, to)));
    EXPECT_EQ(change_of(d, "api"), ServiceChange::replace) << from;
    EXPECT_EQ(change_of(d, "db"), ServiceChange::unchanged) << from;
  }
  auto health =
      diff_configs(load(kBase), load(with(kBase, "health: {type: tcp}", "health: {type: http}")));
  EXPECT_EQ(change_of(health, "db"), ServiceChange::replace);
  auto address = diff_configs(load(kBase), load(with(kBase, "127.0.0.1:9000", "127.0.0.1:9001")));
  EXPECT_EQ(change_of(address, "ext"), ServiceChange::replace);
}

TEST(ConfigDiff, TrafficAndSupervisionFieldsApplyInPlace) {
  auto d = diff_configs(load(kBase), load(with(kBase, "load_balancer: round_robin",
                                               "load_balancer: least_connections\n    weight: 3")));
  EXPECT_EQ(change_of(d, "api"), ServiceChange::in_place);
  const auto* api = d.find("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->fields, (std::vector<std::string>{"load_balancer", "weight"}));
  auto tags = diff_configs(
      load(kBase), load(with(kBase, "tags: [v1]", "tags: [v2]\n    restart: {policy: always}")));
  EXPECT_EQ(change_of(tags, "api"), ServiceChange::in_place);
}

TEST(ConfigDiff, ReplicasAloneScale) {
  auto d =
      diff_configs(load(kBase), load(with(kBase, "port: 8080", "port: 8080\n    replicas: 3")));
  EXPECT_EQ(change_of(d, "api"), ServiceChange::scale);
  auto both = diff_configs(
      load(kBase), load(with(kBase, "port: 8080", "port: 8080\n    replicas: 3\n    weight: 2")));
  EXPECT_EQ(change_of(both, "api"), ServiceChange::scale);
  auto with_command =
      diff_configs(load(kBase), load(with(kBase, "port: 8080", "port: 8081\n    replicas: 3")));
  EXPECT_EQ(change_of(with_command, "api"), ServiceChange::replace);
}

TEST(ConfigDiff, MeshFieldsAreListed) {
  auto d = diff_configs(
      load(kBase),
      load("mesh: {api_token: s3cret, listen: \"127.0.0.1:9999\"}\n" + std::string(kBase)));
  EXPECT_EQ(d.mesh_fields, (std::vector<std::string>{"api_token", "listen"}));
  EXPECT_FALSE(d.empty());
}

}  // namespace
}  // namespace meshd::config

namespace meshd::config {
namespace {

// POST /admin/config patches the running config's text as JSON; the JSON
// written back must load to the same config.
TEST(YamlToJson, ScalarsGetTheirTypesAndTheResultLoadsBack) {
  auto j = yaml_to_json(kBase, "test.yaml");
  EXPECT_EQ(j["services"]["db"]["port"], 5432);
  EXPECT_EQ(j["services"]["api"]["command"][2], "${PORT}");
  EXPECT_EQ(j["services"]["api"]["env"]["MODE"], "fast");
  auto back = testing::load(j.dump(2));
  EXPECT_TRUE(diff_configs(load(kBase), back).empty());
  auto flags = yaml_to_json("a: true\nb: ~\nc: 08\nd: -3\ne: 1.5\n", "x.yaml");
  EXPECT_EQ(flags["a"], true);
  EXPECT_TRUE(flags["b"].is_null());
  EXPECT_EQ(flags["c"], "08");
  EXPECT_EQ(flags["d"], -3);
  EXPECT_EQ(flags["e"], "1.5");
}

TEST(YamlToJson, ASyntaxErrorIsAConfigErrorWithItsPlace) {
  try {
    yaml_to_json("services: [unclosed\n", "x.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "x.yaml");
    EXPECT_GE(e.line(), 1);
  }
}

}  // namespace
}  // namespace meshd::config
