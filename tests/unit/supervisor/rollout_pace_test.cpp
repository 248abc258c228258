// The pace and the ending of a rollout over several replicas: max_parallel
// new instances in flight, max_unavailable old ones stopped first, what a
// failure does to replicas already replaced (auto_revert or not), and a
// restart of a serving service rolled the same way.

#include "reload_fixture.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

/// The replica index of each launch from the `from`th on, in launch order.
std::vector<std::string> launched_indexes(const ReloadFixture& f, std::size_t from) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < f.launcher.launches.size(); ++i)
    out.push_back(f.launcher.launches[i].spec.env.at("MESHD_INSTANCE_INDEX"));
  return out;
}

std::vector<pid_t> old_pids(ReloadFixture& f, int replicas) {
  std::vector<pid_t> out;
  for (int i = 0; i < replicas; ++i) out.push_back(f.pid("api", "api-" + std::to_string(i)));
  return out;
}

TEST(RolloutPace, MaxParallelTwoOnFourReplicasReplacesTwoAtATime) {
  ReloadFixture f;
  auto s = checked_service("api", 4);
  s.rollout.max_parallel = 2;
  f.start(config_of({s}));
  auto old = old_pids(f, 4);
  ASSERT_EQ(f.launcher.launches.size(), 4u);
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  EXPECT_EQ(launched_indexes(f, 4), (std::vector<std::string>{"0", "1"}));
  for (pid_t p : old) EXPECT_TRUE(f.launcher.alive(p));  // beside them: max_unavailable 0
  f.scheduler.advance(10s - 1ms);
  EXPECT_EQ(f.launcher.launches.size(), 6u);
  for (pid_t p : old) EXPECT_TRUE(f.launcher.alive(p));
  f.scheduler.advance(1s);  // 0 and 1 proven together (the instant is rollout_test's)
  EXPECT_FALSE(f.launcher.alive(old[0]));
  EXPECT_FALSE(f.launcher.alive(old[1]));
  EXPECT_TRUE(f.launcher.alive(old[2]));
  EXPECT_TRUE(f.launcher.alive(old[3]));
  EXPECT_EQ(launched_indexes(f, 4), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ(f.rollout("api").state, "progressing");
  f.scheduler.advance(10s);
  for (pid_t p : old) EXPECT_FALSE(f.launcher.alive(p));
  EXPECT_EQ(f.launcher.launches.size(), 8u);
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "succeeded");
  ASSERT_EQ(r.replicas.size(), 4u);
  for (const auto& replica : r.replicas) EXPECT_EQ(replica.state, "replaced") << replica.index;
  ASSERT_TRUE(f.report);
}

TEST(RolloutPace, MaxParallelIsASlidingWindowNotABatch) {
  ReloadFixture f;
  // Replica 1's new instance starts slowly: it fails its first checks.
  f.never_passes = [](const health::ProbeTarget& t) {
    return is_v2(t) && t.env.at("MESHD_INSTANCE_INDEX") == "1";
  };
  auto s = checked_service("api", 3);
  s.rollout.max_parallel = 2;
  f.start(config_of({s}));
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  EXPECT_EQ(launched_indexes(f, 3), (std::vector<std::string>{"0", "1"}));
  f.scheduler.advance(4500ms);
  f.script(f.newest("api", 1)->id())->fallback = {HealthStatus::passing, "ok", core::Duration(0)};
  f.scheduler.advance(6500ms);  // 11s: replica 0 replaced, replica 1 proving since 5s
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "replaced");
  EXPECT_EQ(f.rollout("api").replicas.at(1).state, "proving");
  // A slot is free: replica 2 does not wait for replica 1.
  EXPECT_EQ(launched_indexes(f, 3), (std::vector<std::string>{"0", "1", "2"}));
  f.scheduler.advance(11s);
  EXPECT_EQ(f.rollout("api").state, "succeeded");
}

TEST(RolloutPace, MaxUnavailableStopsAnOldInstanceBeforeStartingItsReplacement) {
  ReloadFixture f;
  auto s = checked_service("api", 2);
  s.rollout.max_unavailable = 1;
  f.start(config_of({s}));
  auto old = old_pids(f, 2);
  f.launcher.die_on_sigterm = false;  // to see the order: stop, gone, then start
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  EXPECT_EQ(f.launcher.signals_to(old[0], SIGTERM), 1);
  EXPECT_EQ(f.launcher.launches.size(), 2u);  // not before the old one is gone
  EXPECT_EQ(f.launcher.signals_to(old[1], SIGTERM), 0);
  f.launcher.exit(old[0], 0);
  f.scheduler.run_ready();
  ASSERT_EQ(f.launcher.launches.size(), 3u);
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v2");
  EXPECT_EQ(f.launcher.launches.back().spec.env.at("PORT"), "8080");  // its port is free now
  f.scheduler.advance(10s - 1ms);
  EXPECT_EQ(f.launcher.signals_to(old[1], SIGTERM), 0);  // replica 1 waits for replica 0
  f.scheduler.advance(1s);
  EXPECT_EQ(f.launcher.signals_to(old[1], SIGTERM), 1);
  EXPECT_EQ(f.launcher.launches.size(), 3u);
  f.launcher.exit(old[1], 0);
  f.scheduler.run_ready();
  ASSERT_EQ(f.launcher.launches.size(), 4u);
  EXPECT_EQ(f.launcher.launches.back().spec.env.at("PORT"), "8081");
  f.scheduler.advance(11s);
  EXPECT_EQ(f.rollout("api").state, "succeeded");
}

TEST(RolloutPace, AnOldInstanceStoppedForMaxUnavailableIsStartedAgainOnFailure) {
  ReloadFixture f;
  f.never_passes = is_v2;
  auto s = checked_service("api");
  s.rollout.max_unavailable = 1;
  f.start(config_of({s}));
  pid_t old = f.pid("api", "api-0");
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  EXPECT_FALSE(f.launcher.alive(old));
  ASSERT_EQ(f.launcher.launches.size(), 2u);
  pid_t fresh = f.launcher.last_pid();
  f.scheduler.advance(31s);  // past the deadline
  EXPECT_FALSE(f.launcher.alive(fresh));
  ASSERT_EQ(f.launcher.launches.size(), 3u);
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v1");
  EXPECT_TRUE(f.launcher.alive(f.launcher.last_pid()));
  f.scheduler.run_ready();
  EXPECT_EQ(f.rollout("api").state, "reverted");
  EXPECT_EQ(f.sup->find("api")->health(), HealthStatus::passing);
}

// Replica 0 is replaced; replica 1's new instance never passes.
void replace_one_then_fail(ReloadFixture& f, bool auto_revert, std::vector<pid_t>& old,
                           pid_t& new0) {
  f.never_passes = [](const health::ProbeTarget& t) {
    return is_v2(t) && t.env.at("MESHD_INSTANCE_INDEX") == "1";
  };
  auto s = checked_service("api", 2);
  s.rollout.auto_revert = auto_revert;
  f.start(config_of({s}));
  old = old_pids(f, 2);
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  new0 = f.launcher.last_pid();
  f.scheduler.advance(11s);  // replica 1's new instance started at 10s
  EXPECT_FALSE(f.launcher.alive(old[0]));
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "replaced");
  ASSERT_EQ(f.launcher.launches.size(), 4u);  // replica 1's new instance
  f.scheduler.advance(28s);
  EXPECT_EQ(f.rollout("api").state, "progressing");
  f.scheduler.advance(2s);  // past its deadline
}

TEST(RolloutPace, AutoRevertPutsThePreviousDefinitionBackOnReplacedReplicas) {
  ReloadFixture f;
  std::vector<pid_t> old;
  pid_t new0 = -1;
  replace_one_then_fail(f, true, old, new0);
  pid_t new1 = f.launcher.launches.at(3).pid;
  EXPECT_FALSE(f.launcher.alive(new1));
  EXPECT_TRUE(f.launcher.alive(old[1]));  // never touched
  EXPECT_EQ(f.launcher.signals_to(old[1], SIGTERM), 0);
  // Replica 0 gets a v1 instance again; its v2 one leaves once that passes.
  ASSERT_EQ(f.launcher.launches.size(), 5u);
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v1");
  EXPECT_EQ(f.launcher.launches.back().spec.env.at("MESHD_INSTANCE_INDEX"), "0");
  f.scheduler.run_ready();
  EXPECT_TRUE(f.launcher.alive(f.launcher.last_pid()));
  EXPECT_FALSE(f.launcher.alive(new0));
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "reverted");
  ASSERT_EQ(r.replicas.size(), 2u);
  EXPECT_EQ(r.replicas[0].state, "restored");
  EXPECT_EQ(r.replicas[1].state, "failed");
  EXPECT_FALSE(r.reason.empty());
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v1");
  for (const auto& i : f.sup->find("api")->instances()) {
    if (!has_process(i->state())) continue;
    EXPECT_EQ(i->spec_ptr()->command.at(1), "v1") << i->id();
  }
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_EQ(f.report->running->find("api")->command.at(1), "v1");
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"replaced", "failed", "restoring", "restored", "reverted"}))
      << joined(steps);
}

TEST(RolloutPace, WithoutAutoRevertReplacedReplicasKeepTheNewDefinition) {
  ReloadFixture f;
  std::vector<pid_t> old;
  pid_t new0 = -1;
  replace_one_then_fail(f, false, old, new0);
  f.scheduler.run_ready();
  EXPECT_FALSE(f.launcher.alive(f.launcher.launches.at(3).pid));
  EXPECT_TRUE(f.launcher.alive(new0));        // v2 keeps replica 0
  EXPECT_TRUE(f.launcher.alive(old[1]));      // v1 keeps replica 1
  EXPECT_EQ(f.launcher.launches.size(), 4u);  // nothing restored
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "failed");
  ASSERT_EQ(r.replicas.size(), 2u);
  EXPECT_EQ(r.replicas[0].state, "replaced");
  EXPECT_EQ(r.replicas[1].state, "failed");
  EXPECT_FALSE(r.reason.empty());
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v2");
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"replaced", "failed"})) << joined(steps);
  for (const auto& step : steps) EXPECT_NE(step, "reverted");
}

TEST(RolloutRestart, AServingServiceRollsItsReplicas) {
  ReloadFixture f;
  f.start(config_of({checked_service("api")}));
  pid_t old = f.pid("api", "api-0");
  ASSERT_TRUE(f.sup->restart_service("api"));
  f.scheduler.run_ready();
  ASSERT_EQ(f.launcher.launches.size(), 2u);
  pid_t fresh = f.launcher.last_pid();
  EXPECT_NE(fresh, old);
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v1");  // the same definition
  auto r = f.rollout("api");
  EXPECT_EQ(r.trigger, "restart");
  EXPECT_EQ(r.state, "progressing");
  // Under rollout: no other operator action on it.
  EXPECT_EQ(f.sup->restart_service("api").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->stop_service("api").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->start_service("api").error().code, core::ErrorCode::conflict);
  f.scheduler.advance(10s - 1ms);
  EXPECT_TRUE(f.launcher.alive(old));
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 0);
  f.scheduler.advance(1s);
  EXPECT_FALSE(f.launcher.alive(old));
  EXPECT_TRUE(f.launcher.alive(fresh));
  EXPECT_EQ(f.rollout("api").state, "succeeded");
  EXPECT_TRUE(f.sup->restart_service("api"));  // free again
}

TEST(RolloutRestart, AFailedRestartIsJustFailed) {
  ReloadFixture f;
  f.start(config_of({checked_service("api")}));
  pid_t old = f.pid("api", "api-0");
  ASSERT_TRUE(f.sup->restart_service("api"));
  f.scheduler.run_ready();
  pid_t fresh = f.launcher.last_pid();
  f.scheduler.advance(4s);
  f.launcher.exit(fresh, 1);
  f.scheduler.run_ready();
  EXPECT_TRUE(f.launcher.alive(old));
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 0);
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "failed");  // the same definition: nothing to revert to
  EXPECT_EQ(r.trigger, "restart");
  EXPECT_FALSE(r.reason.empty());
}

TEST(RolloutRestart, AServiceThatIsNotServingRestartsAtOnce) {
  ReloadFixture f;
  auto s = checked_service("api");
  s.restart.policy = config::RestartPolicy::never;
  f.start(config_of({s}));
  f.launcher.exit(f.pid("api", "api-0"), 1);
  f.scheduler.run_ready();
  ASSERT_EQ(f.sup->find("api")->state(), ProcessState::failed);
  ASSERT_TRUE(f.sup->restart_service("api"));
  f.scheduler.run_ready();
  ASSERT_EQ(f.launcher.launches.size(), 2u);
  EXPECT_TRUE(f.launcher.alive(f.launcher.last_pid()));
  EXPECT_FALSE(f.rollout("api").running());  // no gate: nothing served to protect
  EXPECT_EQ(f.sup->find("api")->health(), HealthStatus::passing);
}

}  // namespace
}  // namespace meshd::supervisor
