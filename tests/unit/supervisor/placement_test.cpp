// Cluster placement in the supervisor: a service that is not placed on this
// node runs no process, its dependents count on another node's instances,
// and placing or unplacing it (a singleton moving between nodes) starts or
// stops it. Fake clock, fake processes.

#include <gtest/gtest.h>

#include <cmath>

#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using config::DependencyCondition;

config::ServiceSpec spec(const std::string& name, std::vector<config::Dependency> deps = {}) {
  config::ServiceSpec s;
  s.name = name;
  s.command = {"/bin/" + name, "v1"};
  s.depends_on = std::move(deps);
  s.health.type = config::CheckType::notify;
  s.health.start_period = 5s;
  s.restart.backoff.initial = 100ms;
  s.restart.max_restarts = 3;
  s.shutdown.timeout = 5s;
  return s;
}

config::Dependency dep(std::string name, DependencyCondition c = DependencyCondition::healthy,
                       bool required = true) {
  return config::Dependency{std::move(name), c, required};
}

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  core::EventBus events{clock};
  testing::FakeReadiness readiness;
  std::unique_ptr<Supervisor> sup;
  std::optional<ReloadReport> report;
  /// What the other nodes have: service -> the condition they meet.
  std::map<std::string, DependencyCondition> elsewhere;
  bool ask_elsewhere = true;  // false: InstanceDeps::met_elsewhere left empty
  std::uint16_t next_free_port = 40000;

  /// The supervisor, not started yet: placement may be set first.
  void make(std::vector<config::ServiceSpec> services) {
    config::Config cfg;
    cfg.services = std::move(services);
    InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    deps.random01 = [] { return std::nextafter(1.0, 0.0); };
    deps.free_port = [this] { return std::optional<std::uint16_t>(next_free_port++); };
    deps.make_readiness_channel = readiness.factory();
    if (ask_elsewhere)
      deps.met_elsewhere = [this](const std::string& service, DependencyCondition) {
        return elsewhere.contains(service);
      };
    sup = std::make_unique<Supervisor>(deps, events,
                                       std::make_shared<const config::Config>(std::move(cfg)));
  }
  void start() {
    sup->start_all();
    scheduler.run_ready();
  }
  void make_ready(const std::string& id) {
    ASSERT_TRUE(readiness.ready.count(id)) << id;
    readiness.ready.at(id)();
    scheduler.run_ready();
  }
  core::Status reload(std::vector<config::ServiceSpec> services) {
    config::Config cfg;
    cfg.services = std::move(services);
    report.reset();
    auto status = sup->reload(std::make_shared<const config::Config>(std::move(cfg)),
                              [this](ReloadReport r) { report = std::move(r); });
    scheduler.run_ready();
    return status;
  }
  ProcessState state(const std::string& svc) { return sup->find(svc)->state(); }
  std::size_t launches_of(const std::string& id) { return launcher.pids_of(id).size(); }
};

TEST(Placement, EveryServiceIsPlacedByDefault) {
  Fixture f;
  f.make({spec("db")});
  EXPECT_TRUE(f.sup->placed("db"));
  f.start();
  EXPECT_EQ(f.launches_of("db-0"), 1u);
}

TEST(Placement, AServiceNotPlacedHereRunsNoProcessAndShowsElsewhere) {
  Fixture f;
  f.make({spec("db"), spec("web")});
  ASSERT_TRUE(f.sup->set_placed("db", false).ok());
  f.start();
  EXPECT_FALSE(f.sup->placed("db"));
  EXPECT_EQ(f.launches_of("db-0"), 0u);
  EXPECT_EQ(f.launches_of("web-0"), 1u);
  EXPECT_EQ(f.state("db"), ProcessState::elsewhere);
  EXPECT_STREQ(to_string(f.state("db")), "elsewhere");
  EXPECT_EQ(f.sup->find("db")->instances()[0]->state(), ProcessState::elsewhere);
  // An operator's start cannot run it here either.
  EXPECT_EQ(f.sup->start_service("db").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->restart_service("db").error().code, core::ErrorCode::conflict);
  f.scheduler.advance(1min);
  EXPECT_EQ(f.launches_of("db-0"), 0u);
}

TEST(Placement, PlacingItStartsItAsSoonAsItsDependenciesAllow) {
  Fixture f;
  f.make({spec("db"), spec("worker", {dep("db")})});
  f.sup->set_placed("worker", false);
  f.start();
  ASSERT_TRUE(f.sup->set_placed("worker", true).ok());
  f.scheduler.run_ready();
  EXPECT_EQ(f.launches_of("worker-0"), 0u);  // db is not healthy yet
  EXPECT_EQ(f.state("worker"), ProcessState::pending);
  f.make_ready("db-0");
  EXPECT_EQ(f.launches_of("worker-0"), 1u);
}

TEST(Placement, UnplacingStopsItGracefullyAndItStaysStopped) {
  Fixture f;
  f.make({spec("singleton")});
  f.start();
  f.make_ready("singleton-0");
  pid_t pid = f.launcher.last_pid();
  f.launcher.die_on_sigterm = false;  // the test ends it
  ASSERT_TRUE(f.sup->set_placed("singleton", false).ok());
  EXPECT_EQ(f.state("singleton"), ProcessState::stopping);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGTERM), 1);
  f.launcher.kill(pid, SIGTERM);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("singleton"), ProcessState::elsewhere);
  f.scheduler.advance(10min);
  EXPECT_EQ(f.launches_of("singleton-0"), 1u);  // never restarted while elsewhere
  // Placed back (the other node died): a fresh start.
  f.sup->set_placed("singleton", true);
  f.scheduler.run_ready();
  EXPECT_EQ(f.launches_of("singleton-0"), 2u);
}

TEST(Placement, UnplacingEscalatesToSigkillAfterItsShutdownTimeout) {
  Fixture f;
  f.make({spec("singleton")});
  f.start();
  pid_t pid = f.launcher.last_pid();
  f.launcher.die_on_sigterm = false;
  f.launcher.die_on_sigkill = false;
  f.sup->set_placed("singleton", false);
  f.scheduler.advance(4900ms);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGKILL), 0);
  f.scheduler.advance(200ms);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGKILL), 1);
  f.launcher.kill(pid, SIGKILL);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("singleton"), ProcessState::elsewhere);
}

TEST(Placement, ADependencyOnAServiceNotPlacedHereIsMetByAnotherNode) {
  Fixture f;
  f.make({spec("db"), spec("api", {dep("db")})});
  f.sup->set_placed("db", false);
  f.start();
  EXPECT_EQ(f.launches_of("api-0"), 0u);
  EXPECT_EQ(f.sup->find("api")->waiting_on(),
            std::vector<std::string>{"db (healthy on another node)"});
  EXPECT_EQ(f.sup->degraded_by(*f.sup->find("api")), std::optional<std::string>("db"));
  f.elsewhere["db"] = DependencyCondition::healthy;
  f.scheduler.run_ready();
  EXPECT_EQ(f.launches_of("api-0"), 0u);  // not until the daemon says something changed
  f.sup->dependencies_changed();
  f.scheduler.run_ready();
  EXPECT_EQ(f.launches_of("api-0"), 1u);
  EXPECT_EQ(f.sup->degraded_by(*f.sup->find("api")), std::nullopt);
}

TEST(Placement, WithoutAnotherNodeADependencyNotPlacedHereIsNeverMet) {
  Fixture f;
  f.ask_elsewhere = false;
  f.make({spec("db"), spec("api", {dep("db")})});
  f.sup->set_placed("db", false);
  f.start();
  f.sup->dependencies_changed();
  f.scheduler.advance(1min);
  EXPECT_EQ(f.launches_of("api-0"), 0u);
  EXPECT_EQ(f.state("api"), ProcessState::pending);
}

TEST(Placement, AnOptionalDependencyNotPlacedHereDoesNotHoldADependentBack) {
  Fixture f;
  f.make({spec("cache"), spec("api", {dep("cache", DependencyCondition::healthy, false)})});
  f.sup->set_placed("cache", false);
  f.start();
  EXPECT_EQ(f.launches_of("api-0"), 1u);
}

TEST(Placement, AReloadKeepsTheFlag) {
  Fixture f;
  f.make({spec("a")});
  f.sup->set_placed("a", false);
  f.start();
  auto changed = spec("a");
  changed.tags = {"v2"};  // in place
  ASSERT_TRUE(f.reload({changed}).ok());
  EXPECT_FALSE(f.sup->placed("a"));
  EXPECT_EQ(f.launches_of("a-0"), 0u);
  auto replaced = changed;
  replaced.command = {"/bin/a", "v2"};  // a rolling replacement, of nothing
  ASSERT_TRUE(f.reload({replaced}).ok());
  ASSERT_TRUE(f.report.has_value());
  EXPECT_FALSE(f.sup->placed("a"));
  EXPECT_EQ(f.launcher.launches.size(), 0u);
  EXPECT_EQ(f.state("a"), ProcessState::elsewhere);
  f.sup->set_placed("a", true);
  f.scheduler.run_ready();
  ASSERT_EQ(f.launcher.launches.size(), 1u);
  EXPECT_EQ(f.launcher.launches[0].spec.argv.back(), "v2");
}

TEST(Placement, AServiceAReloadAddsStartsPlacedUnlessUnplacedFirst) {
  Fixture f;
  f.make({spec("a")});
  f.start();
  // The daemon unplaces a service before the reload that adds it ...
  f.sup->set_placed("b", false);
  EXPECT_FALSE(f.sup->placed("b"));
  // ... or from Listener::added, before any of its processes starts.
  Supervisor::Listener listener;
  listener.added = [&](Service& s) {
    if (s.name() == "c") f.sup->set_placed("c", false);
  };
  auto subscription = f.sup->subscribe(listener);
  ASSERT_TRUE(f.reload({spec("a"), spec("b"), spec("c"), spec("d")}).ok());
  EXPECT_EQ(f.launches_of("b-0"), 0u);
  EXPECT_EQ(f.launches_of("c-0"), 0u);
  EXPECT_EQ(f.launches_of("d-0"), 1u);
  EXPECT_EQ(f.state("b"), ProcessState::elsewhere);
  EXPECT_EQ(f.state("c"), ProcessState::elsewhere);
  // A removed service's flag is forgotten: added again, it starts placed.
  ASSERT_TRUE(f.reload({spec("a"), spec("c"), spec("d")}).ok());
  EXPECT_EQ(f.sup->find("b"), nullptr);
  ASSERT_TRUE(f.reload({spec("a"), spec("b"), spec("c"), spec("d")}).ok());
  EXPECT_TRUE(f.sup->placed("b"));
  EXPECT_EQ(f.launches_of("b-0"), 1u);
}

TEST(Placement, UnplacingDuringARollingReplacementStopsEverything) {
  Fixture f;
  f.make({spec("svc")});
  f.start();
  f.make_ready("svc-0");
  auto next = spec("svc");
  next.command = {"/bin/svc", "v2"};
  ASSERT_TRUE(f.reload({next}).ok());
  ASSERT_EQ(f.launcher.launches.size(), 2u);  // the replacement started next to the old one
  f.sup->set_placed("svc", false);
  f.scheduler.run_ready();
  for (const auto& launch : f.launcher.launches)
    if (f.launcher.alive(launch.pid)) f.launcher.kill(launch.pid, SIGTERM);
  f.scheduler.run_ready();
  EXPECT_EQ(f.launcher.alive_count(), 0u);
  ASSERT_TRUE(f.report.has_value());  // the reload finished
  EXPECT_FALSE(f.sup->reloading());
  f.scheduler.advance(1min);
  EXPECT_EQ(f.launcher.launches.size(), 2u);
  EXPECT_EQ(f.state("svc"), ProcessState::elsewhere);
}

TEST(Placement, ShutdownFinishesWithServicesElsewhere) {
  Fixture f;
  f.make({spec("a"), spec("b")});
  f.sup->set_placed("a", false);
  f.start();
  bool done = false;
  f.sup->shutdown([&] { done = true; });
  f.launcher.kill(f.launcher.last_pid(), SIGTERM);
  f.scheduler.run_ready();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace meshd::supervisor
