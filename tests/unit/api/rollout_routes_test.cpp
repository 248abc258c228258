// GET /api/v1/services/{name}/rollout, promote and abort, and the rollout
// object they (and the service object) carry, against a real Supervisor on
// a fake clock with fake processes.

#include <gtest/gtest.h>

#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/views.hpp"
#include "meshd/config/loader.hpp"

namespace meshd::api {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// api: two replicas, a canary, ready when the test says so.
const char* kConfig = R"(version: 1
services:
  api:
    command: ["/bin/api", "v1"]
    replicas: 2
    health: { type: notify }
    rollout: { canary: 1, min_healthy: 1s, deadline: 2m }
)";

json body_of(const Response& r) {
  return json::parse(r.body_text());
}

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  testing::FakeReadiness readiness;
  core::EventBus events{clock};
  std::shared_ptr<config::Config> config;
  std::unique_ptr<supervisor::Supervisor> supervisor;
  registry::Registry registry;
  ApiContext ctx;
  Router router;

  Fixture() {
    config = std::make_shared<config::Config>(config::load_string(kConfig, "test"));
    supervisor::InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    deps.random01 = [] { return 0.5; };
    deps.make_readiness_channel = readiness.factory();
    supervisor = std::make_unique<supervisor::Supervisor>(deps, events, config);
    supervisor->start_all();
    scheduler.run_ready();
    ctx.config = config;
    ctx.supervisor = supervisor.get();
    ctx.registry = &registry;
    ctx.scheduler = &scheduler;
    ctx.events = &events;
    register_rollout_routes(router, ctx);
    ready("api-0");
    ready("api-1");
  }

  void ready(const std::string& id) {
    ASSERT_TRUE(readiness.ready.count(id)) << id;
    readiness.ready.at(id)();
    scheduler.run_ready();
  }
  // A reload with a new command: a process-level change, rolled with a canary.
  void reload_v2() {
    std::string text = kConfig;
    text.replace(text.find("\"v1\""), 4, "\"v2\"");
    auto next = std::make_shared<const config::Config>(config::load_string(text, "test"));
    ASSERT_TRUE(supervisor->reload(next, [this](supervisor::ReloadReport r) { report = r; }));
    scheduler.run_ready();
  }
  // The canary passes and stays passing for min_healthy.
  void canary_proven() {
    reload_v2();
    ready("api-0.1");
    scheduler.advance(1500ms);
  }
  json rollout() { return body_of(call("GET", "/api/v1/services/api/rollout")); }

  std::optional<supervisor::ReloadReport> report;

  Response call(const std::string& method, const std::string& path, const std::string& token = "") {
    Request req;
    req.method = method;
    req.target = req.path = path;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    std::optional<Response> out;
    router.dispatch(req, [&out](Response r) { out = std::move(r); });
    EXPECT_TRUE(out) << path;
    return out ? *out : Response{};
  }
};

TEST(RolloutRoutes, BeforeAnyRolloutTheStateIsNullAndTheSettingsAreTheNextOnes) {
  Fixture f;
  auto r = f.call("GET", "/api/v1/services/api/rollout");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), json({{"service", "api"},
                              {"state", nullptr},
                              {"trigger", nullptr},
                              {"reason", ""},
                              {"fields", json::array()},
                              {"settings",
                               {{"min_healthy", "1s"},
                                {"deadline", "2m"},
                                {"max_parallel", 1},
                                {"max_unavailable", 0},
                                {"canary", 1},
                                {"auto_revert", true}}},
                              {"canary", 1},
                              {"replicas", json::array()},
                              {"started_ms", nullptr},
                              {"finished_ms", nullptr}}));
  // The service object says "no rollout yet" with a null.
  auto view = service_view(*f.supervisor, f.registry, *f.supervisor->find("api"));
  EXPECT_TRUE(view["rollout"].is_null());
}

TEST(RolloutRoutes, AnUnknownServiceIsNotFound) {
  Fixture f;
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/services/nope/rollout"},
           {"POST", "/api/v1/services/nope/rollout/promote"},
           {"POST", "/api/v1/services/nope/rollout/abort"}}) {
    auto r = f.call(method, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(body_of(r)["error"]["code"], "not_found") << path;
  }
}

TEST(RolloutRoutes, NothingToPromoteOrAbortIsAConflictThatChangesNothing) {
  Fixture f;
  auto launches = f.launcher.launches.size();
  for (const char* action : {"promote", "abort"}) {
    auto r = f.call("POST", std::string("/api/v1/services/api/rollout/") + action);
    EXPECT_EQ(r.status, 409) << action;
    EXPECT_EQ(body_of(r)["error"]["code"], "conflict") << action;
  }
  EXPECT_EQ(f.launcher.launches.size(), launches);
  EXPECT_TRUE(body_of(f.call("GET", "/api/v1/services/api/rollout"))["state"].is_null());
}

TEST(RolloutRoutes, PromoteAndAbortNeedTheTokenReadsDoNot) {
  Fixture f;
  f.config->mesh.api_token = "s3cret";
  EXPECT_EQ(f.call("GET", "/api/v1/services/api/rollout").status, 200);
  for (const char* action : {"promote", "abort"}) {
    auto path = std::string("/api/v1/services/api/rollout/") + action;
    EXPECT_EQ(f.call("POST", path).status, 401) << action;
    EXPECT_EQ(f.call("POST", path, "wrong").status, 401) << action;
    EXPECT_EQ(f.call("POST", path, "s3cret").status, 409) << action;  // past the token
  }
}

TEST(RolloutRoutes, ACanaryWaitsForPromoteAndShowsHowLongItHasBeenHealthy) {
  Fixture f;
  f.canary_proven();
  auto r = f.rollout();
  EXPECT_EQ(r["state"], "waiting_promote") << r;
  EXPECT_EQ(r["trigger"], "reload");
  EXPECT_EQ(r["fields"], json::array({"command"}));
  EXPECT_EQ(r["canary"], 1);
  EXPECT_TRUE(r["finished_ms"].is_null());
  ASSERT_EQ(r["replicas"].size(), 2u) << r;
  EXPECT_EQ(r["replicas"][0]["old_instance"], "api-0");
  EXPECT_EQ(r["replicas"][0]["new_instance"], "api-0.1");
  EXPECT_EQ(r["replicas"][0]["state"], "canary");
  EXPECT_GE(r["replicas"][0]["healthy_for_ms"].get<int>(), 1000);
  EXPECT_EQ(r["replicas"][1]["state"], "waiting");
  EXPECT_TRUE(r["replicas"][1]["new_instance"].is_null());
  EXPECT_TRUE(r["replicas"][1]["healthy_for_ms"].is_null());
  // The service object carries the same, with the older status.
  auto view = service_view(*f.supervisor, f.registry, *f.supervisor->find("api"));
  EXPECT_EQ(view["rollout"]["state"], "waiting_promote");
  EXPECT_EQ(view["rollout"]["status"], "rolling");
  EXPECT_EQ(view["rollout"]["replicas"], r["replicas"]);
  // Waiting has no deadline.
  f.scheduler.advance(10min);
  EXPECT_EQ(f.rollout()["state"], "waiting_promote");
}

TEST(RolloutRoutes, PromoteLetsTheRestRollOnToSucceeded) {
  Fixture f;
  f.canary_proven();
  auto r = f.call("POST", "/api/v1/services/api/rollout/promote");
  ASSERT_EQ(r.status, 200) << r.body_text();
  EXPECT_EQ(body_of(r)["state"], "progressing");
  EXPECT_EQ(f.call("POST", "/api/v1/services/api/rollout/promote").status, 409);  // once
  f.scheduler.advance(30s);  // the canary's old instance drains and stops, then replica 1 goes
  auto next = f.rollout()["replicas"][1]["new_instance"];
  ASSERT_TRUE(next.is_string()) << f.rollout();
  f.ready(next.get<std::string>());
  f.scheduler.advance(1500ms);
  f.scheduler.advance(30s);
  auto done = f.rollout();
  EXPECT_EQ(done["state"], "succeeded") << done;
  EXPECT_FALSE(done["finished_ms"].is_null());
  EXPECT_EQ(done["replicas"][0]["state"], "replaced");
  EXPECT_EQ(done["replicas"][1]["state"], "replaced");
  auto view = service_view(*f.supervisor, f.registry, *f.supervisor->find("api"));
  EXPECT_EQ(view["rollout"]["status"], "applied");
  EXPECT_EQ(f.call("POST", "/api/v1/services/api/rollout/abort").status, 409);  // nothing runs
}

TEST(RolloutRoutes, AbortRevertsAndTheOldInstancesStay) {
  Fixture f;
  f.canary_proven();
  auto r = f.call("POST", "/api/v1/services/api/rollout/abort");
  ASSERT_EQ(r.status, 200) << r.body_text();
  f.scheduler.advance(30s);
  auto done = f.rollout();
  EXPECT_EQ(done["state"], "reverted") << done;
  EXPECT_EQ(done["reason"], "aborted by the operator");
  EXPECT_EQ(f.supervisor->config().find("api")->command.at(1), "v1");
  ASSERT_TRUE(f.report);
  EXPECT_TRUE(f.report->rolled_back());
  auto view = service_view(*f.supervisor, f.registry, *f.supervisor->find("api"));
  EXPECT_EQ(view["rollout"]["status"], "rolled_back");
  EXPECT_EQ(f.call("POST", "/api/v1/services/api/rollout/abort").status, 409);
}

TEST(RolloutRoutes, ARestartOfAServingServiceIsARolloutToo) {
  Fixture f;
  ASSERT_TRUE(f.supervisor->restart_service("api"));
  f.scheduler.run_ready();
  auto r = f.rollout();
  EXPECT_EQ(r["trigger"], "restart");
  EXPECT_EQ(r["state"], "progressing") << r;
  EXPECT_FALSE(r["replicas"][0]["new_instance"].is_null());
}

// The object itself, from a status as the supervisor keeps it.
TEST(RolloutView, ARunningRolloutShowsEachReplicaAndNoFinish) {
  config::ServiceSpec spec;
  supervisor::RolloutStatus s;
  s.state = "waiting_promote";
  s.trigger = "reload";
  s.fields = {"env"};
  s.settings.canary = 1;
  s.settings.min_healthy = core::Duration(1500);
  s.canary = 1;
  s.started_ms = 1700000000000;
  supervisor::RolloutReplica canary;
  canary.index = 0;
  canary.old_instance = "api-0";
  canary.new_instance = "api-0.1";
  canary.state = "canary";
  canary.healthy_for = core::Duration(2500);
  supervisor::RolloutReplica waiting;
  waiting.index = 1;
  waiting.old_instance = "api-1";
  s.replicas = {canary, waiting};

  auto j = rollout_view("api", s, spec);
  EXPECT_EQ(j["state"], "waiting_promote");
  EXPECT_EQ(j["trigger"], "reload");
  EXPECT_EQ(j["fields"], json::array({"env"}));
  EXPECT_EQ(j["settings"]["min_healthy"], "1500ms");
  EXPECT_EQ(j["settings"]["canary"], 1);
  EXPECT_EQ(j["canary"], 1);
  EXPECT_EQ(j["started_ms"], 1700000000000);
  EXPECT_TRUE(j["finished_ms"].is_null());
  EXPECT_EQ(j["replicas"], json::array({{{"index", 0},
                                         {"old_instance", "api-0"},
                                         {"new_instance", "api-0.1"},
                                         {"state", "canary"},
                                         {"healthy_for_ms", 2500}},
                                        {{"index", 1},
                                         {"old_instance", "api-1"},
                                         {"new_instance", nullptr},
                                         {"state", "waiting"},
                                         {"healthy_for_ms", nullptr}}}));
}

TEST(RolloutView, AFinishedRolloutHasItsEndAndReplicasAddedByTheNewDefinition) {
  supervisor::RolloutStatus s;
  s.state = "reverted";
  s.reason = "aborted by the operator";
  s.started_ms = 1000;
  s.finished_ms = 4000;
  supervisor::RolloutReplica added;  // scale up: no old instance
  added.index = 2;
  added.new_instance = "api-2";
  added.state = "restored";
  s.replicas = {added};
  auto j = rollout_view("api", s, config::ServiceSpec{});
  EXPECT_EQ(j["finished_ms"], 4000);
  EXPECT_EQ(j["reason"], "aborted by the operator");
  EXPECT_TRUE(j["replicas"][0]["old_instance"].is_null());
  EXPECT_EQ(j["replicas"][0]["new_instance"], "api-2");
}

}  // namespace
}  // namespace meshd::api
