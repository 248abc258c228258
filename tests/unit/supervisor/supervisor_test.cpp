#include "meshd/supervisor/supervisor.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  core::EventBus events{clock};
  testing::FakeReadiness readiness;
  std::map<std::string, std::function<void()>>& ready = readiness.ready;  // by instance id
  config::Config cfg;
  std::unique_ptr<Supervisor> sup;

  config::ServiceSpec& add(const std::string& name, std::vector<config::Dependency> deps = {}) {
    config::ServiceSpec s;
    s.name = name;
    s.command = {"/bin/" + name};
    s.depends_on = std::move(deps);
    s.health.type = config::CheckType::none;
    s.restart.backoff.initial = 100ms;
    s.restart.backoff.max = 1s;
    s.restart.max_restarts = 3;
    s.shutdown.timeout = 5s;
    cfg.services.push_back(s);
    return cfg.services.back();
  }

  void start() {
    InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    // The top of random01's range [0, 1): the longest jittered delays.
    deps.random01 = [] { return std::nextafter(1.0, 0.0); };
    deps.make_readiness_channel = readiness.factory();
    sup = std::make_unique<Supervisor>(deps, events, std::make_shared<const config::Config>(cfg));
    sup->start_all();
    scheduler.run_ready();
  }

  Instance& inst(const std::string& id) {
    auto svc = id.substr(0, id.rfind('-'));
    return *sup->find(svc)->find_instance(id);
  }
  ProcessState state(const std::string& svc) { return sup->find(svc)->state(); }
};

config::Dependency dep(std::string name,
                       config::DependencyCondition c = config::DependencyCondition::healthy,
                       bool required = true) {
  return config::Dependency{std::move(name), c, required};
}

TEST(Supervisor, ADependentStartsOnlyOnceItsDependencyIsHealthy) {
  Fixture f;
  f.add("db").health.type = config::CheckType::notify;
  f.add("api", {dep("db")});
  f.start();
  EXPECT_EQ(f.state("db"), ProcessState::starting);
  EXPECT_EQ(f.state("api"), ProcessState::pending);
  EXPECT_EQ(f.sup->find("api")->waiting_on(), std::vector<std::string>{"db (healthy)"});
  EXPECT_TRUE(f.launcher.pids_of("api-0").empty());
  f.ready.at("db-0")();
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("db"), ProcessState::running);
  EXPECT_EQ(f.state("api"), ProcessState::running);
  ASSERT_EQ(f.launcher.launches.size(), 2u);
  EXPECT_EQ(f.launcher.launches[0].spec.instance, "db-0");
  EXPECT_EQ(f.launcher.launches[0].spec.env.at("NOTIFY_SOCKET"), "@fake");
}

TEST(Supervisor, IndependentServicesStartTogether) {
  Fixture f;
  f.add("a").health.type = config::CheckType::notify;
  f.add("b").health.type = config::CheckType::notify;
  f.add("c", {dep("a")});
  f.start();
  EXPECT_EQ(f.launcher.launches.size(), 2u);  // a and b at once; c waits for a only
  f.ready.at("a-0")();
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("c"), ProcessState::running);
  EXPECT_EQ(f.state("b"), ProcessState::starting);
}

TEST(Supervisor, ReplicasGetPortPlusIndex) {
  Fixture f;
  auto& s = f.add("web");
  s.replicas = 3;
  s.port = 9000;
  f.start();
  ASSERT_EQ(f.launcher.launches.size(), 3u);
  EXPECT_EQ(f.launcher.launches[2].spec.env.at("PORT"), "9002");
  EXPECT_EQ(f.launcher.launches[2].spec.env.at("MESHD_INSTANCE"), "web-2");
}

TEST(Supervisor, ACrashingServiceIsRestartedWithGrowingDelaysThenFailed) {
  Fixture f;
  f.add("flaky");
  f.start();
  std::vector<core::Duration> gaps;
  for (int i = 0; i < 3; ++i) {
    f.launcher.exit(f.launcher.last_pid(), 1);
    EXPECT_EQ(f.state("flaky"), ProcessState::backoff);
    auto before = f.clock.now();
    auto launches = f.launcher.launches.size();
    // Bounded: ten minutes of fake time is far past any backoff here.
    for (int step = 0; step < 60'000 && f.launcher.launches.size() == launches; ++step)
      f.scheduler.advance(10ms);
    ASSERT_GT(f.launcher.launches.size(), launches)
        << "no restart within 10 minutes of backoff " << i;
    gaps.push_back(std::chrono::duration_cast<core::Duration>(f.clock.now() - before));
  }
  EXPECT_LT(gaps[0], gaps[1]);
  EXPECT_LT(gaps[1], gaps[2]);
  f.launcher.exit(f.launcher.last_pid(), 1);
  EXPECT_EQ(f.state("flaky"), ProcessState::failed);
  EXPECT_NE(f.inst("flaky-0").reason().find("gave up"), std::string::npos);
  EXPECT_EQ(f.inst("flaky-0").restarts(), 3);
}

TEST(Supervisor, RestartPoliciesDecideWhatAnExitMeans) {
  Fixture f;
  f.add("job");                                                    // on-failure, exits 0
  f.add("never").restart.policy = config::RestartPolicy::never;    // exits 2
  f.add("always").restart.policy = config::RestartPolicy::always;  // exits 0
  f.start();
  f.launcher.exit(f.inst("job-0").pid(), 0);
  f.launcher.exit(f.inst("never-0").pid(), 2);
  f.launcher.exit(f.inst("always-0").pid(), 0);
  EXPECT_EQ(f.state("job"), ProcessState::exited);
  EXPECT_EQ(f.state("never"), ProcessState::failed);
  EXPECT_EQ(f.state("always"), ProcessState::backoff);
}

TEST(Supervisor, StopEscalatesToSigkillAfterTheTimeout) {
  Fixture f;
  f.add("stubborn");
  f.start();
  pid_t pid = f.inst("stubborn-0").pid();
  f.launcher.die_on_sigterm = false;
  f.launcher.die_on_sigkill = false;
  ASSERT_TRUE(f.sup->stop_service("stubborn").ok());
  EXPECT_EQ(f.state("stubborn"), ProcessState::stopping);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGTERM), 1);
  f.scheduler.advance(4900ms);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGKILL), 0);
  f.scheduler.advance(200ms);
  EXPECT_EQ(f.launcher.signals_to(pid, SIGKILL), 1);
  f.launcher.kill(pid, SIGKILL);
  EXPECT_EQ(f.state("stubborn"), ProcessState::stopped);
  f.scheduler.advance(60s);
  EXPECT_EQ(f.launcher.launches.size(), 1u);  // a stopped service is not restarted
}

TEST(Supervisor, RequiredFalseLetsADependentStartWhenTheDependencyFails) {
  Fixture f;
  auto& broken = f.add("broken");
  broken.restart.policy = config::RestartPolicy::never;
  broken.health.type = config::CheckType::notify;
  f.add("tolerant", {dep("broken", config::DependencyCondition::healthy, false)});
  f.add("strict", {dep("broken")});
  f.start();
  EXPECT_EQ(f.state("tolerant"), ProcessState::pending);
  f.launcher.exit(f.inst("broken-0").pid(), 1);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("broken"), ProcessState::failed);
  EXPECT_EQ(f.state("tolerant"), ProcessState::running);
  EXPECT_EQ(f.state("strict"), ProcessState::pending);
  EXPECT_EQ(f.sup->find("strict")->waiting_on(), std::vector<std::string>{"broken (failed)"});
}

TEST(Supervisor, CompletedWaitsForACleanExit) {
  Fixture f;
  f.add("migrate");
  f.add("app", {dep("migrate", config::DependencyCondition::completed)});
  f.start();
  EXPECT_EQ(f.state("app"), ProcessState::pending);
  f.launcher.exit(f.inst("migrate-0").pid(), 0);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("migrate"), ProcessState::exited);
  EXPECT_EQ(f.state("app"), ProcessState::running);
}

TEST(Supervisor, StartedIsMetAsSoonAsTheProcessExists) {
  Fixture f;
  f.add("slow").health.type = config::CheckType::notify;
  f.add("eager", {dep("slow", config::DependencyCondition::started)});
  f.start();
  EXPECT_EQ(f.state("slow"), ProcessState::starting);
  EXPECT_EQ(f.state("eager"), ProcessState::running);
}

TEST(Supervisor, RequestsInAnyOrderNeverLeaveTwoProcesses) {
  Fixture f;
  f.add("svc");
  f.start();
  f.launcher.die_on_sigterm = false;  // exits arrive later, when the test says
  for (int round = 0; round < 20; ++round) {
    f.sup->restart_service("svc");
    f.sup->start_service("svc");
    f.sup->restart_service("svc");
    EXPECT_LE(f.launcher.alive_count(), 1u);
    if (round % 3 == 0) f.sup->stop_service("svc");
    if (f.inst("svc-0").pid() > 0) f.launcher.exit(f.inst("svc-0").pid(), 0);
    f.scheduler.run_ready();
    EXPECT_LE(f.launcher.alive_count(), 1u);
  }
  f.sup->start_service("svc");
  f.scheduler.run_ready();
  EXPECT_EQ(f.launcher.alive_count(), 1u);
  EXPECT_EQ(f.state("svc"), ProcessState::running);
}

TEST(Supervisor, ShutdownStopsDependentsBeforeTheirDependencies) {
  Fixture f;
  f.add("db");
  f.add("api", {dep("db")});
  f.add("web", {dep("api")});
  f.start();
  f.launcher.die_on_sigterm = false;
  bool done = false;
  f.sup->shutdown([&] { done = true; });
  EXPECT_EQ(f.state("web"), ProcessState::stopping);
  EXPECT_EQ(f.state("api"), ProcessState::running);
  EXPECT_EQ(f.state("db"), ProcessState::running);
  f.launcher.exit(f.inst("web-0").pid(), 0);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("api"), ProcessState::stopping);
  EXPECT_EQ(f.state("db"), ProcessState::running);
  f.launcher.exit(f.inst("api-0").pid(), 0);
  f.scheduler.run_ready();
  EXPECT_EQ(f.state("db"), ProcessState::stopping);
  EXPECT_FALSE(done);
  f.launcher.exit(f.inst("db-0").pid(), 0);
  f.scheduler.run_ready();
  EXPECT_TRUE(done);
  EXPECT_EQ(f.launcher.alive_count(), 0u);
  EXPECT_FALSE(f.sup->start_service("db").ok());  // conflict while shutting down
}

TEST(Supervisor, DegradedNamesTheRootCauseAndDoesNotRestartTheDependent) {
  Fixture f;
  f.add("db").health.type = config::CheckType::notify;
  f.add("api", {dep("db")});
  f.add("web", {dep("api", config::DependencyCondition::started)});
  f.start();
  f.ready.at("db-0")();
  f.scheduler.run_ready();
  ASSERT_EQ(f.state("web"), ProcessState::running);
  EXPECT_FALSE(f.sup->degraded_by(*f.sup->find("web")));
  auto launches = f.launcher.launches.size();
  // db crashes; api and web are degraded by db, and nothing else restarts.
  f.launcher.exit(f.inst("db-0").pid(), 1);
  f.scheduler.run_ready();
  EXPECT_EQ(f.sup->degraded_by(*f.sup->find("api")).value_or(""), "db");
  EXPECT_EQ(f.sup->degraded_by(*f.sup->find("web")).value_or(""), "db");
  f.scheduler.advance(50ms);
  EXPECT_EQ(f.launcher.launches.size(), launches);
  EXPECT_EQ(f.state("api"), ProcessState::running);
}

TEST(Supervisor, ASpawnFailureIsACrashWithAReason) {
  Fixture f;
  f.launcher.fail_next = true;
  f.add("missing");
  f.start();
  EXPECT_EQ(f.state("missing"), ProcessState::backoff);
  EXPECT_NE(f.inst("missing-0").reason().find("cannot start"), std::string::npos);
}

TEST(Supervisor, UnknownServicesAreNotFound) {
  Fixture f;
  f.add("a");
  f.start();
  auto s = f.sup->stop_service("nope");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::not_found);
}

TEST(Supervisor, StateChangesAreEvents) {
  Fixture f;
  f.add("a");
  f.start();
  auto events = f.events.recent(0, 100);
  bool saw = false;
  for (const auto& e : events)
    if (e.type == "service.state" && e.service == "a" && e.data["to"] == "running") saw = true;
  EXPECT_TRUE(saw);
}

TEST(Supervisor, ASubscriberHearsTheCurrentStateAtOnceThenEachChange) {
  Fixture f;
  f.add("db").health.type = config::CheckType::notify;
  f.add("api", {dep("db")});
  f.start();
  std::vector<std::string> changed;
  Supervisor::Listener listener;
  listener.changed = [&](const Service& s) {
    changed.push_back(s.name() + ":" + to_string(s.state()));
  };
  auto subscription = f.sup->subscribe(listener);
  EXPECT_EQ(changed, (std::vector<std::string>{"db:starting", "api:pending"}));
  changed.clear();
  f.ready.at("db-0")();
  f.scheduler.run_ready();
  ASSERT_FALSE(changed.empty());
  EXPECT_EQ(changed.front(), "db:running");
  EXPECT_EQ(changed.back(), "api:running");
}

TEST(Supervisor, DroppingTheSubscriptionStopsTheCallsAndMayOutliveTheSupervisor) {
  Fixture f;
  f.add("a").health.type = config::CheckType::notify;
  f.start();
  int first = 0, second = 0;
  Supervisor::Listener one, two;
  one.changed = [&](const Service&) { ++first; };
  two.changed = [&](const Service&) { ++second; };
  auto kept = f.sup->subscribe(one);
  { auto dropped = f.sup->subscribe(two); }
  first = second = 0;
  f.ready.at("a-0")();
  f.scheduler.run_ready();
  EXPECT_GT(first, 0);
  EXPECT_EQ(second, 0);
  f.sup.reset();
  kept.reset();  // after the supervisor is gone: nothing to unsubscribe from, no crash
}

}  // namespace
}  // namespace meshd::supervisor
