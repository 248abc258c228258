// ConfigReloader on a fake clock, fake processes and an in-memory store:
// what a refused reload leaves behind (nothing, and a record of why), the
// one-reload-at-a-time rule, rollbacks, patches and the --dev file watch.

#include "daemon/config_reloader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/daemon.hpp"
#include "fakes/fake_database.hpp"
#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/config/loader.hpp"

namespace meshd::daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// api runs one replica of `version`; its check is READY=1 on NOTIFY_SOCKET,
// so a replacement waits until the test says it is ready (and is proven
// by its first pass: min_healthy 0s).
std::string config_text(const std::string& version, int replicas = 1) {
  return "version: 1\n"
         "services:\n"
         "  api:\n"
         "    command: [\"/bin/api\", \"" +
         version +
         "\"]\n"
         "    replicas: " +
         std::to_string(replicas) +
         "\n"
         "    health: { type: notify, start_period: 5s }\n"
         "    rollout: { min_healthy: 0s }\n";
}

struct Answer {
  int status = 0;
  json body;
};

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  testing::FakeReadiness readiness;
  testing::FakeDatabase database;
  core::EventBus events{clock};
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("meshd-reloader-" + std::to_string(::getpid()) + ".yaml");
  RunOptions options;
  std::unique_ptr<supervisor::Supervisor> supervisor;
  std::unique_ptr<ConfigReloader> reloader;
  int begun = 0, finished = 0;

  Fixture() {
    write(config_text("v1"));
    options.config_path = file.string();
    auto cfg = std::make_shared<const config::Config>(
        load_config_text(config_text("v1"), "test", options));
    supervisor::InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    deps.random01 = [] { return 0.5; };
    deps.make_readiness_channel = readiness.factory();
    supervisor = std::make_unique<supervisor::Supervisor>(deps, events, cfg);
    supervisor->start_all();
    scheduler.run_ready();
    ready("api-0");
    database.append_config(store::ConfigVersion{1, 0, config_text("v1"), "startup"});
    ConfigReloader::Hooks hooks;
    hooks.begin = [this](const auto&, const auto&) { ++begun; };
    hooks.finished = [this](const auto&) { ++finished; };
    reloader = std::make_unique<ConfigReloader>(scheduler, options, *supervisor, database, events,
                                                cfg, 1, hooks);
  }
  ~Fixture() {
    reloader.reset();
    std::filesystem::remove(file);
  }

  void write(const std::string& text) {
    std::ofstream out(file, std::ios::trunc);
    out << text;
  }
  void ready(const std::string& id) {
    ASSERT_TRUE(readiness.ready.count(id)) << id;
    readiness.ready.at(id)();
    scheduler.run_ready();
  }
  ConfigReloader::Done answer_into(Answer& a) {
    return [&a](int status, json body) { a = {status, std::move(body)}; };
  }
  const std::string& running_command_version() {
    return supervisor->config().find("api")->command.at(1);
  }
  bool published(const std::string& type) {
    for (const auto& e : events.recent(0, 1000))
      if (e.type == type) return true;
    return false;
  }
};

TEST(ConfigReloader, ARejectedReloadChangesNothingAndIsRecorded) {
  Fixture f;
  auto launches = f.launcher.launches.size();
  Answer a;
  f.reloader->reload_body("services: [not, a, map]\n", "text/yaml", true, f.answer_into(a));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body["error"]["code"], "invalid_config");
  EXPECT_EQ(a.body["error"]["file"], "POST /admin/config");
  // Nothing changed...
  EXPECT_EQ(f.running_command_version(), "v1");
  EXPECT_EQ(f.launcher.launches.size(), launches);
  EXPECT_EQ(f.database.configs.size(), 1u);
  EXPECT_EQ(f.begun, 0);
  // ...and the operator can see why.
  auto status = f.reloader->status();
  EXPECT_EQ(status["running_version"], 1);
  EXPECT_EQ(status["rejected"]["trigger"], "POST /admin/config");
  EXPECT_EQ(status["rejected"]["error"]["code"], "invalid_config");
  EXPECT_TRUE(f.published("config.rejected"));
}

TEST(ConfigReloader, ABodyThatCannotBeReadIsInvalidArgument) {
  Fixture f;
  Answer empty, not_json, wrong_shape, not_applying;
  f.reloader->reload_body("  \n", "text/yaml", false, f.answer_into(empty));
  f.reloader->reload_body("{oops", "application/json-patch+json", false, f.answer_into(not_json));
  f.reloader->reload_body("[1]", "application/merge-patch+json", false, f.answer_into(wrong_shape));
  f.reloader->reload_body(R"([{"op": "remove", "path": "/services/nope"}])",
                          "Application/JSON-Patch+JSON; charset=utf-8", false,
                          f.answer_into(not_applying));
  for (const auto* a : {&empty, &not_json, &wrong_shape, &not_applying}) {
    EXPECT_EQ(a->status, 400) << a->body;
    EXPECT_EQ(a->body["error"]["code"], "invalid_argument") << a->body;
  }
  EXPECT_NE(
      not_applying.body["error"]["message"].get<std::string>().find("the patch does not apply"),
      std::string::npos);
  EXPECT_EQ(f.running_command_version(), "v1");
  EXPECT_EQ(f.reloader->status()["rejected"]["error"]["code"], "invalid_argument");
}

TEST(ConfigReloader, ASecondReloadWhileOneRunsIsAConflict) {
  Fixture f;
  Answer first, second;
  f.reloader->reload_body(config_text("v2"), "text/yaml", false, f.answer_into(first));
  EXPECT_EQ(first.status, 202);  // the replacement waits for its check
  EXPECT_TRUE(f.reloader->busy());
  f.reloader->reload_body(config_text("v3"), "text/yaml", false, f.answer_into(second));
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.body["error"]["code"], "conflict");
  EXPECT_NE(second.body["error"]["message"].get<std::string>().find("(api: progressing)"),
            std::string::npos);
  EXPECT_TRUE(f.reloader->status()["rejected"].is_null());  // a conflict is not a bad config
  f.ready("api-0.1");                                       // the replacement passes its check
  EXPECT_FALSE(f.reloader->busy());
  EXPECT_EQ(f.running_command_version(), "v2");
  EXPECT_EQ(f.reloader->status()["running_version"], 2);
  ASSERT_EQ(f.database.configs.size(), 2u);
  EXPECT_EQ(f.database.configs.back().source, config_text("v2"));
  EXPECT_EQ(f.finished, 1);
}

TEST(ConfigReloader, ARollbackToAnUnknownVersionIsNotFound) {
  Fixture f;
  Answer a;
  f.reloader->rollback_to(42, true, f.answer_into(a));
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body["error"]["code"], "not_found");
  EXPECT_NE(a.body["error"]["message"].get<std::string>().find("no config version 42"),
            std::string::npos);
  EXPECT_EQ(f.begun, 0);
}

TEST(ConfigReloader, ARollbackAppliesTheStoredTextAsANewVersion) {
  Fixture f;
  Answer up, back;
  f.reloader->reload_body(config_text("v1", 2), "text/yaml", true,
                          f.answer_into(up));  // scaled: applied at once
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(f.supervisor->find("api")->instances().size(), 2u);
  f.reloader->rollback_to(1, true, f.answer_into(back));
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.body["version"], 3);
  EXPECT_EQ(back.body["trigger"], "rollback to version 1");
  EXPECT_EQ(f.reloader->history(10)["versions"][0]["running"], true);
  EXPECT_EQ(f.reloader->history(10)["versions"][0]["version"], 3);
}

TEST(ConfigReloader, AMergePatchAppliesToTheLastAppliedText) {
  Fixture f;
  Answer a;
  f.reloader->reload_body(R"({"services": {"api": {"replicas": 3}}})",
                          "application/merge-patch+json", true, f.answer_into(a));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body["trigger"], "POST /admin/config (merge patch)");
  EXPECT_EQ(f.supervisor->find("api")->instances().size(), 3u);
  EXPECT_EQ(f.running_command_version(), "v1");
}

TEST(ConfigReloader, BackgroundReloadsWaitForTheRunningOneThenRun) {
  Fixture f;
  Answer first;
  f.reloader->reload_body(config_text("v2"), "text/yaml", false, f.answer_into(first));
  f.write(config_text("v1", 2));
  f.reloader->reload_in_background("SIGHUP");  // queued, never refused
  EXPECT_EQ(f.reloader->status()["reload"]["queued"], "SIGHUP");
  f.ready("api-0.1");  // the first one finishes; the queued one runs on the next turn
  f.scheduler.run_ready();
  EXPECT_EQ(f.running_command_version(), "v1");
  EXPECT_EQ(f.supervisor->config().find("api")->replicas, 2);
}

TEST(ConfigReloader, ARevertedRolloutMakesTheRunningConfigDifferFromTheFile) {
  Fixture f;
  EXPECT_EQ(f.reloader->status()["differs_from_file"], false);
  EXPECT_EQ(f.reloader->status()["reverted"], json::array());
  f.write(config_text("v2"));
  Answer a;
  f.reloader->reload_file("SIGHUP", true, f.answer_into(a));
  // The replacement never reports ready: past its deadline the rollout
  // fails and api is put back on v1, while the file says v2.
  f.scheduler.advance(3min);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body["result"], "rolled_back");
  EXPECT_EQ(f.running_command_version(), "v1");
  auto status = f.reloader->status();
  EXPECT_EQ(status["differs_from_file"], true);
  EXPECT_EQ(status["reverted"], json::array({"api"}));
  // The file edited back to what runs: nothing to apply, and no difference.
  f.write(config_text("v1"));
  f.reloader->reload_file("SIGHUP", true, f.answer_into(a));
  EXPECT_EQ(a.body["changed"], false);
  EXPECT_EQ(f.reloader->status()["differs_from_file"], false);
  EXPECT_EQ(f.reloader->status()["reverted"], json::array());
}

TEST(ConfigReloader, ABackgroundReloadWaitsForARollingRestart) {
  Fixture f;
  ASSERT_TRUE(f.supervisor->restart_service("api"));  // serving: a rolling restart
  f.write(config_text("v1", 2));
  f.reloader->reload_in_background("SIGHUP");  // queued, not refused
  EXPECT_EQ(f.reloader->status()["reload"]["queued"], "SIGHUP");
  EXPECT_EQ(f.begun, 0);
  f.scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(f.begun, 0);  // the restart still runs
  f.ready("api-0.1");     // proven (min_healthy 0s): the restart ends
  f.scheduler.advance(std::chrono::seconds(1));
  EXPECT_EQ(f.begun, 1);
  EXPECT_EQ(f.supervisor->config().find("api")->replicas, 2);
}

TEST(ConfigReloader, TheDevWatchReloadsOnceTheFileHasSettled) {
  Fixture f;
  f.reloader->watch_file(500ms, 300ms);
  f.scheduler.advance(2s);
  EXPECT_EQ(f.begun, 0);  // an unchanged file is left alone
  f.write(config_text("v1", 2) + "# edited\n");
  f.scheduler.advance(500ms);  // the change is seen...
  EXPECT_EQ(f.begun, 0);       // ...but not acted on until it settles
  f.scheduler.advance(500ms);
  EXPECT_EQ(f.begun, 1);
  EXPECT_EQ(f.supervisor->find("api")->instances().size(), 2u);
  f.scheduler.advance(5s);
  EXPECT_EQ(f.begun, 1);  // once per change
}

}  // namespace
}  // namespace meshd::daemon
