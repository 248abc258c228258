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
  }

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

json body_of(const Response& r) {
  return json::parse(r.body_text());
}

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
