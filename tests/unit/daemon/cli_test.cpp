#include "daemon/cli.hpp"

#include <gtest/gtest.h>

#include "daemon/daemon.hpp"
#include "meshd/config/loader.hpp"

namespace meshd::daemon {
namespace {

TEST(Cli, ParsesRunWithEveryFlag) {
  auto c = parse_command_line({"run",
                               "-c",
                               "f.yaml",
                               "--env",
                               "staging",
                               "--service",
                               "a",
                               "--service=b",
                               "--listen",
                               "127.0.0.1:0",
                               "--gateway=off",
                               "--data-dir",
                               "/tmp/x",
                               "--log-level",
                               "warn",
                               "--log-format",
                               "json",
                               "--node",
                               "n1",
                               "--etcd",
                               "http://127.0.0.1:2379"});
  auto* run = std::get_if<RunOptions>(&c);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->config_path, "f.yaml");
  EXPECT_EQ(run->environment, "staging");
  EXPECT_EQ(run->services, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*run->listen, "127.0.0.1:0");
  EXPECT_EQ(*run->gateway, "off");
  EXPECT_EQ(*run->data_dir, "/tmp/x");
  EXPECT_EQ(*run->log_level, "warn");
  EXPECT_EQ(*run->log_format, "json");
  EXPECT_EQ(*run->node, "n1");
  EXPECT_EQ(*run->etcd, std::vector<std::string>{"http://127.0.0.1:2379"});
}

TEST(Cli, GatewayThreadsIsANumberFrom1To64) {
  auto c = parse_command_line({"run", "-c", "f.yaml", "--gateway-threads", "2"});
  auto* run = std::get_if<RunOptions>(&c);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(*run->gateway_threads, 2);
  for (const char* bad : {"0", "65", "two", "2x", ""}) {
    auto e = parse_command_line({"run", "-c", "f.yaml", "--gateway-threads", bad});
    auto* err = std::get_if<UsageError>(&e);
    ASSERT_NE(err, nullptr) << bad;
    EXPECT_NE(err->message.find("--gateway-threads"), std::string::npos) << err->message;
  }
}

TEST(Cli, DevMeansTheDevEnvironmentAndDebugLogs) {
  auto c = parse_command_line({"run", "-c", "f.yaml", "--dev"});
  auto* run = std::get_if<RunOptions>(&c);
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->dev);
  EXPECT_EQ(run->environment, "dev");
  EXPECT_TRUE(run->environment_optional);
  EXPECT_EQ(*run->log_level, "debug");
  auto named = std::get<RunOptions>(
      parse_command_line({"run", "-c", "f.yaml", "--dev", "--env", "staging"}));
  EXPECT_EQ(named.environment, "staging");
  EXPECT_FALSE(named.environment_optional);
}

// --dev applies the dev overlay when the file has one and loads any file;
// --env dev insists on it.
TEST(Cli, DevLoadsAFileWithoutADevOverlay) {
  const std::string plain = "services:\n  a:\n    command: [/bin/true]\n";
  const std::string with_dev =
      plain + "environments:\n  dev:\n    services:\n      a: {replicas: 2}\n";
  auto dev = std::get<RunOptions>(parse_command_line({"run", "-c", "f.yaml", "--dev"}));
  EXPECT_EQ(load_config_text(plain, "f.yaml", dev).find("a")->replicas, 1);
  auto overlaid = load_config_text(with_dev, "f.yaml", dev);
  EXPECT_EQ(overlaid.find("a")->replicas, 2);
  EXPECT_EQ(overlaid.environment, "dev");
  auto env = std::get<RunOptions>(parse_command_line({"run", "-c", "f.yaml", "--env", "dev"}));
  EXPECT_THROW(load_config_text(plain, "f.yaml", env), config::ConfigError);
}

TEST(Cli, ValidateAndVersion) {
  auto v = parse_command_line({"validate", "--config=f.yaml", "--env", "production"});
  ASSERT_TRUE(std::holds_alternative<ValidateOptions>(v));
  EXPECT_EQ(std::get<ValidateOptions>(v).environment, "production");
  EXPECT_TRUE(std::holds_alternative<VersionCommand>(parse_command_line({"version"})));
}

TEST(Cli, MistakesAreUsageErrorsWithAClearLine) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  for (const auto& c :
       std::vector<Case>{{{}, "no command"},
                         {{"launch"}, "unknown command 'launch'"},
                         {{"run"}, "needs -c FILE"},
                         {{"run", "-c"}, "-c needs a file"},
                         {{"run", "-c", "f", "--bogus"}, "unknown option '--bogus'"},
                         {{"validate", "-c", "f", "--dev"}, "unknown option '--dev' for validate"},
                         {{"run", "-c", "f", "--log-format", "xml"}, "text or json"},
                         {{"run", "-c", "f", "--service"}, "needs a service name"},
                         {{"version", "extra"}, "takes no arguments"}}) {
    auto r = parse_command_line(c.args);
    auto* e = std::get_if<UsageError>(&r);
    ASSERT_NE(e, nullptr) << c.needle;
    EXPECT_NE(e->message.find(c.needle), std::string::npos) << e->message;
  }
}

TEST(Cli, WsIdleTimeoutIsADurationFrom200msTo24h) {
  auto run =
      std::get<RunOptions>(parse_command_line({"run", "-c", "f", "--ws-idle-timeout", "2000ms"}));
  EXPECT_EQ(run.ws_idle_timeout, std::chrono::milliseconds(2000));
  EXPECT_FALSE(std::get<RunOptions>(parse_command_line({"run", "-c", "f"})).ws_idle_timeout);
  EXPECT_EQ(std::get<RunOptions>(parse_command_line({"run", "-c", "f", "--ws-idle-timeout=24h"}))
                .ws_idle_timeout,
            std::chrono::hours(24));
  for (std::string bad : {"100ms", "25h", "soon", ""}) {
    auto r = parse_command_line({"run", "-c", "f", "--ws-idle-timeout", bad});
    auto* e = std::get_if<UsageError>(&r);
    ASSERT_NE(e, nullptr) << bad;
    EXPECT_NE(e->message.find("from 200ms to 24h"), std::string::npos) << e->message;
  }
  EXPECT_TRUE(std::holds_alternative<UsageError>(
      parse_command_line({"run", "-c", "f", "--ws-idle-timeout"})));
}

// --node and --etcd beat the file, and are held to the file's rules.
TEST(Cli, NodeAndEtcdBeatTheFile) {
  const std::string file =
      "mesh:\n  node: from-file\n  cluster: {etcd: 'http://file:2379', lease_ttl: 5s}\n"
      "services:\n  a:\n    command: [/bin/true]\n";
  auto run = std::get<RunOptions>(parse_command_line(
      {"run", "-c", "f.yaml", "--node", "gpu-box", "--etcd=http://e1:2379,http://e2:2379"}));
  EXPECT_EQ(*run.node, "gpu-box");
  EXPECT_EQ(*run.etcd, (std::vector<std::string>{"http://e1:2379", "http://e2:2379"}));
  auto cfg = load_config_text(file, "f.yaml", run);
  EXPECT_EQ(cfg.mesh.node, "gpu-box");
  EXPECT_EQ(cfg.mesh.cluster.etcd, (std::vector<std::string>{"http://e1:2379", "http://e2:2379"}));
  EXPECT_EQ(cfg.mesh.cluster.lease_ttl, std::chrono::seconds(5));  // the rest of the block stays
  auto plain = load_config_text(file, "f.yaml",
                                std::get<RunOptions>(parse_command_line({"run", "-c", "f.yaml"})));
  EXPECT_EQ(plain.mesh.node, "from-file");
  EXPECT_EQ(plain.mesh.cluster.etcd, std::vector<std::string>{"http://file:2379"});
  // A node without a cluster block joins one from the flag alone.
  auto joined = load_config_text("services:\n  a:\n    command: [/bin/true]\n", "f.yaml",
                                 std::get<RunOptions>(parse_command_line(
                                     {"run", "-c", "f.yaml", "--etcd", "http://127.0.0.1:2379"})));
  EXPECT_TRUE(joined.mesh.cluster.enabled());
  EXPECT_EQ(joined.mesh.cluster.prefix, "/meshd/");
}

TEST(Cli, BadNodeOrEtcdFlagsFailLikeTheFile) {
  const std::string file = "services:\n  a:\n    command: [/bin/true]\n";
  auto error_of = [&](std::vector<std::string> args) -> std::string {
    auto parsed = parse_command_line(args);
    if (auto* usage_error = std::get_if<UsageError>(&parsed)) return usage_error->message;
    try {
      load_config_text(file, "f.yaml", std::get<RunOptions>(parsed));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of({"run", "-c", "f", "--node", "gpu box"}),
            "--node: 'gpu box' may hold only letters, digits, '.', '_' and '-' (it is part of "
            "instance ids and etcd keys)");
  EXPECT_EQ(error_of({"run", "-c", "f", "--node"}), "--node needs a node name");
  EXPECT_EQ(error_of({"run", "-c", "f", "--etcd", "127.0.0.1:2379"}),
            "--etcd: expected http://host:port or https://host:port, got '127.0.0.1:2379'");
  EXPECT_EQ(error_of({"run", "-c", "f", "--etcd", "http://a:1,"}),
            "--etcd: expected http://host:port or https://host:port, got ''");
  EXPECT_EQ(error_of({"run", "-c", "f", "--etcd", "https://a:1"}),
            "--etcd: tls.ca: 'https://a:1' is https; give the CA that signed etcd's certificate "
            "(mesh.cluster in f.yaml)");
}

}  // namespace
}  // namespace meshd::daemon
