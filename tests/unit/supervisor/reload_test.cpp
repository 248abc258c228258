// Supervisor::reload on a fake clock with fake processes: which processes
// a reload starts and stops, the health gate of a rolling replacement, and
// the rollback when a new definition never passes its check.

#include "reload_fixture.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

config::ServiceSpec spec(const std::string& name, std::vector<std::string> deps = {}) {
  config::ServiceSpec s;
  s.name = name;
  s.command = {"/bin/" + name, "v1"};
  for (auto& d : deps)
    s.depends_on.push_back(config::Dependency{d, config::DependencyCondition::healthy, true});
  s.health.type = config::CheckType::notify;
  s.health.start_period = 2s;
  s.restart.backoff.initial = 100ms;
  s.restart.max_restarts = 3;
  s.shutdown.timeout = 5s;
  s.rollout.min_healthy = 1s;
  s.rollout.deadline = 3s;
  return s;
}

using Fixture = ReloadFixture;

config::Config two_services() {
  config::Config cfg;
  cfg.services = {spec("db"), spec("api", {"db"})};
  cfg.services[1].port = 8080;
  return cfg;
}

// Both running and passing.
void start_both(Fixture& f) {
  f.start(two_services());
  f.make_ready("db-0");
  f.make_ready("api-0");
  ASSERT_EQ(f.sup->find("api")->health(), HealthStatus::passing);
}

TEST(Reload, UnchangedServicesKeepTheirProcesses) {
  Fixture f;
  start_both(f);
  pid_t db = f.pid("db", "db-0"), api = f.pid("api", "api-0");
  ASSERT_TRUE(f.reload(two_services()));
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("db").result, "unchanged");
  EXPECT_EQ(f.outcome("api").result, "unchanged");
  EXPECT_EQ(f.pid("db", "db-0"), db);
  EXPECT_EQ(f.pid("api", "api-0"), api);
  EXPECT_EQ(f.launcher.launches.size(), 2u);
  EXPECT_FALSE(f.sup->reloading());
}

TEST(Reload, ATrafficChangeAppliesInPlace) {
  Fixture f;
  start_both(f);
  pid_t api = f.pid("api", "api-0");
  auto next = two_services();
  next.services[1].load_balancer = config::LoadBalancerPolicy::least_connections;
  next.services[1].tags = {"v2"};
  next.services[1].restart.max_restarts = 7;
  ASSERT_TRUE(f.reload(next));
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "updated");
  EXPECT_EQ(f.outcome("api").change, config::ServiceChange::in_place);
  EXPECT_EQ(f.pid("api", "api-0"), api);
  EXPECT_EQ(f.launcher.launches.size(), 2u);
  const auto* instance = f.sup->find("api")->find_instance("api-0");
  EXPECT_EQ(instance->spec_ptr()->tags, std::vector<std::string>{"v2"});
  EXPECT_EQ(f.sup->find("api")->spec().load_balancer,
            config::LoadBalancerPolicy::least_connections);
  EXPECT_EQ(f.sup->config().find("api")->restart.max_restarts, 7);
  EXPECT_EQ(f.sup->find("api")->rollout().status(), "applied");
}

TEST(Reload, AnAddedServiceStartsAfterItsDependency) {
  Fixture f;
  start_both(f);
  auto next = two_services();
  next.services.push_back(spec("cache"));
  next.services.push_back(spec("worker", {"cache"}));
  std::vector<std::string> added;
  Supervisor::Listener listener;
  listener.added = [&](Service& s) { added.push_back(s.name()); };
  auto subscription = f.sup->subscribe(listener);
  EXPECT_EQ(added, (std::vector<std::string>{"db", "api"}));  // the services already there, at once
  added.clear();
  ASSERT_TRUE(f.reload(next));
  EXPECT_EQ(added, (std::vector<std::string>{"cache", "worker"}));
  EXPECT_EQ(f.launcher.pids_of("cache-0").size(), 1u);
  EXPECT_TRUE(f.launcher.pids_of("worker-0").empty());  // waits for cache to be healthy
  EXPECT_EQ(f.sup->find("worker")->state(), ProcessState::pending);
  f.make_ready("cache-0");
  EXPECT_EQ(f.launcher.pids_of("worker-0").size(), 1u);
  ASSERT_TRUE(f.report);  // added services do not hold the reload
  EXPECT_EQ(f.outcome("worker").result, "started");
}

TEST(Reload, RemovedServicesStopDependentsFirst) {
  Fixture f;
  start_both(f);
  f.launcher.die_on_sigterm = false;
  config::Config next;  // both gone
  int changes = 0;
  Supervisor::Listener listener;
  listener.services_changed = [&] { ++changes; };
  auto subscription = f.sup->subscribe(listener);
  EXPECT_EQ(changes, 1);  // once at once, for the current set
  changes = 0;
  ASSERT_TRUE(f.reload(next));
  pid_t db = f.pid("db", "db-0"), api = f.pid("api", "api-0");
  EXPECT_EQ(f.launcher.signals_to(api, SIGTERM), 1);
  EXPECT_EQ(f.launcher.signals_to(db, SIGTERM), 0);  // api still running
  EXPECT_FALSE(f.report);
  EXPECT_EQ(f.sup->start_service("api").error().code, core::ErrorCode::conflict);
  f.launcher.exit(api, 0);
  f.scheduler.run_ready();
  EXPECT_EQ(f.launcher.signals_to(db, SIGTERM), 1);
  f.launcher.exit(db, 0);
  f.scheduler.run_ready();
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "stopped");
  EXPECT_TRUE(f.sup->services().empty());
  EXPECT_EQ(changes, 2);  // once as each is gone
}

TEST(Reload, AProcessChangeReplacesOneReplicaAtATimeGatedOnHealth) {
  Fixture f;
  start_both(f);
  pid_t old = f.pid("api", "api-0");
  auto next = two_services();
  next.services[1].command = {"/bin/api", "v2"};
  ASSERT_TRUE(f.reload(next));
  // The new instance runs beside the old one, on a free port (8080 is held).
  EXPECT_EQ(f.ids("api"), (std::vector<std::string>{"api-0", "api-0.1"}));
  auto* fresh = f.sup->find("api")->find_instance("api-0.1");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->port(), std::optional<std::uint16_t>(40000));
  EXPECT_EQ(f.launcher.launches.back().spec.env.at("PORT"), "40000");
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v2");
  EXPECT_TRUE(f.launcher.alive(old));
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 0);
  EXPECT_EQ(f.sup->restart_service("api").error().code, core::ErrorCode::conflict);
  f.clock.advance(2s);
  f.scheduler.run_ready();
  EXPECT_TRUE(f.launcher.alive(old));  // not before the new one passes
  f.make_ready("api-0.1");
  f.scheduler.advance(999ms);
  EXPECT_TRUE(f.launcher.alive(old));  // nor before it passed for min_healthy
  f.scheduler.advance(2ms);
  EXPECT_FALSE(f.launcher.alive(old));
  EXPECT_EQ(f.ids("api"), std::vector<std::string>{"api-0.1"});
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "replaced");
  EXPECT_EQ(f.outcome("db").result, "unchanged");
  EXPECT_EQ(f.sup->find("api")->rollout().status(), "applied");
  EXPECT_EQ(f.sup->find("api")->spec().command.at(1), "v2");
}

TEST(Reload, ANewDefinitionThatNeverPassesIsRolledBack) {
  Fixture f;
  start_both(f);
  pid_t old = f.pid("api", "api-0");
  auto next = two_services();
  next.services[1].command = {"/bin/api", "broken"};
  ASSERT_TRUE(f.reload(next));
  pid_t fresh = f.pid("api", "api-0.1");
  ASSERT_GT(fresh, 0);
  f.scheduler.advance(2900ms);
  EXPECT_FALSE(f.report);
  f.scheduler.advance(200ms);
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_NE(f.outcome("api").reason.find("was not healthy for 1s within 3s"), std::string::npos)
      << f.outcome("api").reason;
  EXPECT_TRUE(f.report->rolled_back());
  EXPECT_TRUE(f.launcher.alive(old));  // the old instance served throughout
  EXPECT_FALSE(f.launcher.alive(fresh));
  EXPECT_EQ(f.ids("api"), std::vector<std::string>{"api-0"});
  EXPECT_EQ(f.sup->find("api")->rollout().status(), "rolled_back");
  EXPECT_EQ(f.sup->find("api")->spec().command.at(1), "v1");
  EXPECT_EQ(f.report->running->find("api")->command.at(1), "v1");
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v1");
}

TEST(Reload, ANewInstanceThatCrashesRollsBackAtOnce) {
  Fixture f;
  start_both(f);
  auto next = two_services();
  next.services[1].command = {"/bin/api", "crashes"};
  next.services[1].rollout.deadline = 60s;
  ASSERT_TRUE(f.reload(next));
  f.launcher.exit(f.pid("api", "api-0.1"), 3);  // a crash, even before its first pass
  f.scheduler.run_ready();
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_NE(f.outcome("api").reason.find("api-0.1 exited"), std::string::npos)
      << f.outcome("api").reason;
}

TEST(Reload, RollbackRestoresReplicasAlreadyReplaced) {
  Fixture f;
  auto cfg = two_services();
  cfg.services[1].replicas = 2;
  f.start(cfg);
  f.make_ready("db-0");
  f.make_ready("api-0");
  f.make_ready("api-1");
  auto next = cfg;
  next.services[1].command = {"/bin/api", "v2"};
  ASSERT_TRUE(f.reload(next));
  f.make_ready("api-0.1");
  f.scheduler.advance(1001ms);  // replica 0 proven and replaced
  EXPECT_EQ(f.ids("api"), (std::vector<std::string>{"api-0.1", "api-1", "api-1.2"}));
  f.scheduler.advance(3100ms);  // replica 1's new instance never passes
  // Replica 0 gets an instance of the old definition, on its old port.
  auto* restore = f.sup->find("api")->find_instance("api-0.3");
  ASSERT_NE(restore, nullptr);
  EXPECT_EQ(restore->port(), std::optional<std::uint16_t>(8080));
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v1");
  EXPECT_FALSE(f.report);
  EXPECT_GT(f.pid("api", "api-0.1"), 0);  // keeps serving until the restored one passes
  f.make_ready("api-0.3");
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_EQ(f.ids("api"), (std::vector<std::string>{"api-0.3", "api-1"}));
}

TEST(Reload, ReplicaChangesOnlyAddOrRemoveReplicas) {
  Fixture f;
  start_both(f);
  pid_t first = f.pid("api", "api-0");
  auto up = two_services();
  up.services[1].replicas = 3;
  ASSERT_TRUE(f.reload(up));
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "scaled");
  EXPECT_EQ(f.ids("api"), (std::vector<std::string>{"api-0", "api-1", "api-2"}));
  EXPECT_EQ(f.pid("api", "api-0"), first);
  EXPECT_EQ(f.sup->find("api")->find_instance("api-2")->port(), std::optional<std::uint16_t>(8082));
  EXPECT_GT(f.pid("api", "api-2"), 0);
  auto down = two_services();
  ASSERT_TRUE(f.reload(down));
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.ids("api"), std::vector<std::string>{"api-0"});
  EXPECT_EQ(f.pid("api", "api-0"), first);
}

TEST(Reload, OneAtATime) {
  Fixture f;
  start_both(f);
  auto next = two_services();
  next.services[1].command = {"/bin/api", "v2"};
  ASSERT_TRUE(f.reload(next));
  ASSERT_TRUE(f.sup->reloading());
  auto second =
      f.sup->reload(std::make_shared<const config::Config>(two_services()), [](ReloadReport) {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, core::ErrorCode::conflict);
  EXPECT_NE(second.error().message.find("api: progressing"), std::string::npos)
      << second.error().message;
  f.make_ready("api-0.1");
  f.scheduler.advance(1001ms);
  EXPECT_FALSE(f.sup->reloading());
}

TEST(Reload, ShutdownInterruptsAReload) {
  Fixture f;
  start_both(f);
  auto next = two_services();
  next.services[1].command = {"/bin/api", "v2"};
  ASSERT_TRUE(f.reload(next));
  bool down = false;
  f.sup->shutdown([&] { down = true; });
  f.scheduler.run_ready();
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "interrupted");
  EXPECT_TRUE(down);
  EXPECT_EQ(f.launcher.alive_count(), 0u);
}

TEST(Reload, AServiceWithNothingServingIsReplacedAtOnce) {
  Fixture f;
  f.start(two_services());
  f.make_ready("db-0");
  // api never became ready: nothing to protect.
  pid_t old = f.pid("api", "api-0");
  auto next = two_services();
  next.services[1].command = {"/bin/api", "fixed"};
  ASSERT_TRUE(f.reload(next));
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "replaced");
  EXPECT_FALSE(f.launcher.alive(old));
  EXPECT_EQ(f.ids("api"), std::vector<std::string>{"api-0.1"});
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "fixed");
}

}  // namespace
}  // namespace meshd::supervisor
