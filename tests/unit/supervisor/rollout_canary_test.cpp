// Canaries: with `canary: N` the first N replicas get new instances beside
// their old ones, and once proven the rollout waits, with no deadline, for
// the operator's promote (the rest rolls on) or abort (everything back).

#include "reload_fixture.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

/// `api` with three serving replicas and one canary, rolled to v2 until
/// the canary is proven and the rollout waits for promote.
std::vector<pid_t> roll_to_waiting(ReloadFixture& f, int canary = 1, int replicas = 3) {
  auto s = checked_service("api", replicas);
  s.rollout.canary = canary;
  f.start(config_of({s}));
  std::vector<pid_t> old;
  for (int i = 0; i < replicas; ++i) old.push_back(f.pid("api", "api-" + std::to_string(i)));
  EXPECT_TRUE(f.reload(next_version(config_of({s}))));
  EXPECT_EQ(f.rollout("api").state, "progressing");
  f.scheduler.advance(10s * canary + 1s);  // 1s of slack: the instant is rollout_test's
  EXPECT_EQ(f.rollout("api").state, "waiting_promote");
  return old;
}

TEST(RolloutCanary, OneOfThreeWaitsForPromoteWithNoDeadline) {
  ReloadFixture f;
  auto old = roll_to_waiting(f);
  ASSERT_EQ(f.launcher.launches.size(), 4u);  // the canary only
  pid_t canary = f.launcher.last_pid();
  auto r = f.rollout("api");
  EXPECT_EQ(r.canary, 1);
  ASSERT_EQ(r.replicas.size(), 3u);
  EXPECT_EQ(r.replicas[0].state, "canary");
  EXPECT_EQ(r.replicas[1].state, "waiting");
  EXPECT_EQ(r.replicas[2].state, "waiting");
  // Far past any deadline: still waiting, the old instances all serving.
  f.scheduler.advance(6h);
  EXPECT_EQ(f.rollout("api").state, "waiting_promote");
  EXPECT_EQ(f.launcher.launches.size(), 4u);
  EXPECT_TRUE(f.launcher.alive(canary));
  for (pid_t p : old) {
    EXPECT_TRUE(f.launcher.alive(p));
    EXPECT_EQ(f.launcher.signals_to(p, SIGTERM), 0);
  }
  EXPECT_FALSE(f.report);  // the reload is still being applied
  auto again =
      f.sup->reload(std::make_shared<const config::Config>(config_of({checked_service("api", 3)})),
                    [](ReloadReport) {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);
  EXPECT_NE(again.error().message.find("api: waiting for promote"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(f.sup->restart_service("api").error().code, core::ErrorCode::conflict);
}

TEST(RolloutCanary, PromoteLetsTheRestRollOn) {
  ReloadFixture f;
  auto old = roll_to_waiting(f);
  pid_t canary = f.launcher.last_pid();
  ASSERT_TRUE(f.sup->promote_rollout("api"));
  f.scheduler.run_ready();
  EXPECT_FALSE(f.launcher.alive(old[0]));  // the canary's old instance drains
  EXPECT_TRUE(f.launcher.alive(canary));
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "replaced");
  ASSERT_EQ(f.launcher.launches.size(), 5u);
  EXPECT_EQ(f.launcher.launches.back().spec.env.at("MESHD_INSTANCE_INDEX"), "1");
  EXPECT_TRUE(f.launcher.alive(old[1]));  // beside it, as before
  f.scheduler.advance(11s);
  EXPECT_FALSE(f.launcher.alive(old[1]));
  EXPECT_TRUE(f.launcher.alive(old[2]));
  f.scheduler.advance(11s);
  EXPECT_FALSE(f.launcher.alive(old[2]));
  EXPECT_EQ(f.launcher.launches.size(), 6u);
  EXPECT_EQ(f.rollout("api").state, "succeeded");
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "replaced");
  EXPECT_EQ(f.sup->promote_rollout("api").error().code, core::ErrorCode::conflict);
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"canary", "waiting_promote", "promoted", "succeeded"}))
      << joined(steps);
}

TEST(RolloutCanary, AbortRevertsAndKeepsTheOldInstances) {
  ReloadFixture f;
  auto old = roll_to_waiting(f);
  pid_t canary = f.launcher.last_pid();
  ASSERT_TRUE(f.sup->abort_rollout("api"));
  f.scheduler.run_ready();
  EXPECT_FALSE(f.launcher.alive(canary));
  for (pid_t p : old) {
    EXPECT_TRUE(f.launcher.alive(p));
    EXPECT_EQ(f.launcher.signals_to(p, SIGTERM), 0);
  }
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "reverted");
  EXPECT_EQ(r.reason, "aborted by the operator");
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v1");
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_EQ(f.sup->abort_rollout("api").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->promote_rollout("api").error().code, core::ErrorCode::conflict);
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"waiting_promote", "aborted", "reverted"})) << joined(steps);
  f.scheduler.advance(1min);
  EXPECT_EQ(f.launcher.launches.size(), 4u);  // nothing else started
}

TEST(RolloutCanary, ACanaryThatCrashesWhileWaitingFailsTheRollout) {
  ReloadFixture f;
  auto old = roll_to_waiting(f);
  pid_t canary = f.launcher.last_pid();
  f.scheduler.advance(1h);
  f.launcher.exit(canary, 1);
  f.scheduler.run_ready();
  EXPECT_EQ(f.rollout("api").state, "reverted");
  EXPECT_FALSE(f.rollout("api").reason.empty());
  for (pid_t p : old) EXPECT_TRUE(f.launcher.alive(p));
  f.scheduler.advance(1min);
  EXPECT_FALSE(f.launcher.alive(f.launcher.last_pid()));  // not restarted
  EXPECT_EQ(f.sup->promote_rollout("api").error().code, core::ErrorCode::conflict);
}

TEST(RolloutCanary, AWaitingCanaryBreaksByItsCheckThresholdsNotOneBlip) {
  // Proven canaries may wait for hours: there one failed check is forgiven
  // (unlike inside the window), the check going critical is not.
  ReloadFixture f;
  auto old = roll_to_waiting(f);
  pid_t canary = f.launcher.last_pid();
  Instance* i = f.newest("api", 0);
  ASSERT_NE(i, nullptr);
  std::string id = i->id();
  f.scheduler.advance(30min + 500ms);
  f.fail_next_check(id);
  f.scheduler.advance(1s);
  EXPECT_EQ(f.rollout("api").state, "waiting_promote");
  EXPECT_TRUE(f.launcher.alive(canary));
  f.scheduler.advance(1s);                            // passing again
  for (int k = 0; k < 3; ++k) f.fail_next_check(id);  // unhealthy_threshold 3
  f.scheduler.advance(2s);
  EXPECT_EQ(f.rollout("api").state, "waiting_promote");
  f.scheduler.advance(1s);  // the third failure in a row: critical
  EXPECT_EQ(f.rollout("api").state, "reverted");
  EXPECT_FALSE(f.launcher.alive(canary));
  for (pid_t p : old) EXPECT_TRUE(f.launcher.alive(p));
}

TEST(RolloutCanary, AbortWorksWithoutAutoRevertAndRestoresReplacedReplicas) {
  ReloadFixture f;
  auto s = checked_service("api", 2);
  s.rollout.auto_revert = false;  // an abort reverts anyway
  f.start(config_of({s}));
  pid_t old1 = f.pid("api", "api-1");
  ASSERT_TRUE(f.reload(next_version(config_of({s}))));
  f.scheduler.advance(11s);  // replica 0 replaced, replica 1 proving
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "replaced");
  ASSERT_EQ(f.launcher.launches.size(), 4u);
  ASSERT_TRUE(f.sup->abort_rollout("api"));
  f.scheduler.run_ready();
  EXPECT_FALSE(f.launcher.alive(f.launcher.launches.at(3).pid));  // replica 1's new one
  EXPECT_TRUE(f.launcher.alive(old1));
  ASSERT_EQ(f.launcher.launches.size(), 5u);  // replica 0 restored on v1
  EXPECT_EQ(f.launcher.launches.back().spec.argv.at(1), "v1");
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "reverted");
  EXPECT_EQ(r.reason, "aborted by the operator");
  EXPECT_EQ(r.replicas.at(0).state, "restored");
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v1");
}

TEST(RolloutCanary, MoreCanariesThanReplicasAreClampedToTheReplicas) {
  ReloadFixture f;
  auto old = roll_to_waiting(f, 5, 2);
  auto r = f.rollout("api");
  EXPECT_EQ(r.canary, 2);
  EXPECT_EQ(r.settings.canary, 5);
  ASSERT_EQ(r.replicas.size(), 2u);
  EXPECT_EQ(r.replicas[0].state, "canary");
  EXPECT_EQ(r.replicas[1].state, "canary");
  EXPECT_EQ(f.launcher.launches.size(), 4u);
  for (pid_t p : old) EXPECT_TRUE(f.launcher.alive(p));
  ASSERT_TRUE(f.sup->promote_rollout("api"));
  f.scheduler.run_ready();
  for (pid_t p : old) EXPECT_FALSE(f.launcher.alive(p));
  EXPECT_EQ(f.rollout("api").state, "succeeded");
}

TEST(RolloutCanary, PromoteAndAbortNeedARollout) {
  ReloadFixture f;
  f.start(config_of({checked_service("api")}));
  EXPECT_EQ(f.sup->promote_rollout("api").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->abort_rollout("api").error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.sup->promote_rollout("nope").error().code, core::ErrorCode::not_found);
  EXPECT_EQ(f.sup->abort_rollout("nope").error().code, core::ErrorCode::not_found);
  // A rollout without canaries never waits: promote has nothing to do.
  ASSERT_TRUE(f.reload(next_version(config_of({checked_service("api")}))));
  EXPECT_EQ(f.sup->promote_rollout("api").error().code, core::ErrorCode::conflict);
  EXPECT_TRUE(f.sup->abort_rollout("api"));
}

}  // namespace
}  // namespace meshd::supervisor
