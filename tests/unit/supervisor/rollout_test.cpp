// The proving window of a rollout on the fake clock: a new instance must
// pass its check without a break for min_healthy, within the deadline of its
// start, before its old instance leaves. A failed check (even one), a crash
// or an outlier ejection inside the window breaks it, and the old instance,
// never touched, keeps serving.

#include "reload_fixture.hpp"

namespace meshd::supervisor {
namespace {

using namespace std::chrono_literals;
using health::HealthStatus;

/// `api` (one replica, v1) serving; then a reload to v2 whose new instance
/// starts, and (when its probes pass) opens its window, now.
pid_t start_and_roll(ReloadFixture& f, config::ServiceSpec s = checked_service("api")) {
  f.start(config_of({s}));
  pid_t old = f.pid("api", "api-0");
  EXPECT_GT(old, 0);
  EXPECT_EQ(f.sup->find("api")->health(), HealthStatus::passing);
  EXPECT_TRUE(f.reload(next_version(config_of({s}))));
  return old;
}

struct Fresh {
  std::string id;
  pid_t pid = -1;
};

Fresh fresh_of(ReloadFixture& f, int index = 0) {
  Instance* i = f.newest("api", index);
  EXPECT_NE(i, nullptr);
  if (!i || i->generation() == 0) {
    ADD_FAILURE() << "no new instance for replica " << index;
    return {};
  }
  EXPECT_EQ(i->spec_ptr()->command.at(1), "v2");
  return {i->id(), i->pid()};
}

/// After a broken window: the old instance served throughout and still
/// does; the new one is gone and the service is back on v1.
void expect_kept_the_old(ReloadFixture& f, pid_t old, const Fresh& fresh) {
  EXPECT_TRUE(f.launcher.alive(old));
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 0);
  EXPECT_FALSE(f.launcher.alive(fresh.pid));
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "reverted");  // auto_revert, the default
  EXPECT_FALSE(r.reason.empty());
  ASSERT_EQ(r.replicas.size(), 1u);
  EXPECT_EQ(r.replicas[0].state, "failed");
  EXPECT_EQ(r.replicas[0].new_instance, fresh.id);
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "rolled_back");
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v1");
  // The broken instance is not restarted later, and the old one stays.
  f.scheduler.advance(2min);
  EXPECT_EQ(f.launcher.pids_of(fresh.id).size(), 1u);
  EXPECT_TRUE(f.launcher.alive(old));
}

TEST(RolloutWindow, ANewInstanceIsProvenAtMinHealthyNotBefore) {
  ReloadFixture f;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  ASSERT_NE(fresh.pid, old);
  EXPECT_EQ(f.sup->find("api")->find_instance(fresh.id)->health(), HealthStatus::passing);
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "proving");
  // One passing check used to be proof; now the old one stays for 10s.
  f.scheduler.advance(10s - 1ms);
  EXPECT_TRUE(f.launcher.alive(old));
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 0);
  EXPECT_FALSE(f.report);
  f.scheduler.advance(1ms);
  EXPECT_EQ(f.launcher.signals_to(old, SIGTERM), 1);
  EXPECT_FALSE(f.launcher.alive(old));
  EXPECT_TRUE(f.launcher.alive(fresh.pid));
  auto r = f.rollout("api");
  EXPECT_EQ(r.state, "succeeded");
  ASSERT_EQ(r.replicas.size(), 1u);
  EXPECT_EQ(r.replicas[0].state, "replaced");
  EXPECT_EQ(r.replicas[0].old_instance, "api-0");
  EXPECT_EQ(r.replicas[0].new_instance, fresh.id);
  ASSERT_TRUE(f.report);
  EXPECT_EQ(f.outcome("api").result, "replaced");
  EXPECT_EQ(f.sup->config().find("api")->command.at(1), "v2");
  EXPECT_EQ(f.ids("api"), std::vector<std::string>{fresh.id});
}

TEST(RolloutWindow, FailingChecksBeforeTheFirstPassAreAllowedAndTheWindowOpensAtIt) {
  ReloadFixture f;
  f.never_passes = is_v2;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(3500ms);  // probes at 0s..3s failed, past unhealthy_threshold
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "starting");
  f.script(fresh.id)->fallback = {HealthStatus::passing, "ok", core::Duration(0)};
  f.scheduler.advance(500ms);  // the probe at 4s passes: the window opens
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "proving");
  f.scheduler.advance(10s - 1ms);
  EXPECT_TRUE(f.launcher.alive(old));  // 14s after its start: the window opened at 4s
  f.scheduler.advance(1s);
  EXPECT_FALSE(f.launcher.alive(old));
  EXPECT_EQ(f.rollout("api").state, "succeeded");
}

TEST(RolloutWindow, OneFailedCheckBelowTheThresholdBreaksIt) {
  ReloadFixture f;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(2500ms);
  f.fail_next_check(fresh.id);
  f.scheduler.advance(500ms);  // the probe at 3s fails: 1 of unhealthy_threshold 3
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, ACrashInsideTheWindowBreaksIt) {
  ReloadFixture f;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(3s);
  f.launcher.exit(fresh.pid, 1);  // restart: on_failure would restart it in 100ms
  f.scheduler.run_ready();
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, ACrashBeforeTheFirstPassBreaksIt) {
  ReloadFixture f;
  f.never_passes = is_v2;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(1500ms);
  f.launcher.exit(fresh.pid, 1);
  f.scheduler.run_ready();
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, AnOutlierEjectionOfTheNewInstanceBreaksIt) {
  ReloadFixture f;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(3s);
  // Another service's ejection is none of this rollout's business.
  f.events.publish("outlier.ejected", "other", "other-0", "other-0: ejected",
                   {{"until_ms_from_now", 30000}, {"times_ejected", 1}});
  f.scheduler.run_ready();
  EXPECT_EQ(f.rollout("api").state, "progressing");
  // The gateway's event for the new instance (route_table.cpp's shape).
  f.events.publish("outlier.ejected", "api", fresh.id,
                   fresh.id +
                       ": ejected by outlier detection for 30000ms after 5 consecutive "
                       "failures",
                   {{"until_ms_from_now", 30000}, {"times_ejected", 1}});
  f.scheduler.run_ready();
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, NeverPassingFailsAtTheDeadlineNotBefore) {
  ReloadFixture f;
  f.never_passes = is_v2;
  pid_t old = start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(30s - 1ms);
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_TRUE(f.launcher.alive(fresh.pid));
  EXPECT_FALSE(f.report);
  f.scheduler.advance(1ms);
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, AWindowThatCannotCloseBeforeTheDeadlineFailsAtIt) {
  ReloadFixture f;
  f.never_passes = is_v2;
  auto s = checked_service("api");
  s.rollout.deadline = 15s;
  pid_t old = start_and_roll(f, s);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(6500ms);
  f.script(fresh.id)->fallback = {HealthStatus::passing, "ok", core::Duration(0)};
  f.scheduler.advance(15s - 6500ms - 1ms);  // passing since 7s: 8s of the 10s needed
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_EQ(f.rollout("api").replicas.at(0).state, "proving");
  f.scheduler.advance(1s);  // failed at 15s, not proven at 17s
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, TheDeadlineIsAtLeastTheStartPeriodAndTheWindow) {
  // A slow starter (a model to load) is never cut short by `deadline`.
  ReloadFixture f;
  f.never_passes = is_v2;
  auto s = checked_service("api");
  s.health.start_period = 60s;  // with min_healthy 10s: 70s, not the 30s written
  pid_t old = start_and_roll(f, s);
  Fresh fresh = fresh_of(f);
  EXPECT_EQ(f.rollout("api").settings.deadline, 70s);
  f.scheduler.advance(69s);
  EXPECT_EQ(f.rollout("api").state, "progressing");
  EXPECT_TRUE(f.launcher.alive(fresh.pid));
  f.scheduler.advance(2s);
  expect_kept_the_old(f, old, fresh);
}

TEST(RolloutWindow, RolloutStatusSaysHowLongTheNewInstanceHasBeenHealthy) {
  ReloadFixture f;
  f.never_passes = is_v2;
  start_and_roll(f);
  Fresh fresh = fresh_of(f);
  auto before = f.rollout("api");
  EXPECT_EQ(before.trigger, "reload");
  EXPECT_EQ(before.settings.min_healthy, 10s);
  EXPECT_EQ(before.settings.deadline, 30s);
  EXPECT_NE(std::find(before.fields.begin(), before.fields.end(), "command"), before.fields.end());
  EXPECT_GT(before.started_ms, 0);
  EXPECT_EQ(before.finished_ms, 0);
  ASSERT_EQ(before.replicas.size(), 1u);
  EXPECT_EQ(before.replicas[0].healthy_for, std::nullopt);  // not passing yet
  f.scheduler.advance(1500ms);
  f.script(fresh.id)->fallback = {HealthStatus::passing, "ok", core::Duration(0)};
  f.scheduler.advance(500ms);  // passing since 2s
  f.scheduler.advance(4s);
  auto during = f.rollout("api");
  ASSERT_EQ(during.replicas.size(), 1u);
  EXPECT_EQ(during.replicas[0].healthy_for, std::optional<core::Duration>(4s));
  EXPECT_TRUE(during.replicas[0].passing_since.has_value());
  f.scheduler.advance(7s);
  auto after = f.rollout("api");
  EXPECT_EQ(after.state, "succeeded");
  EXPECT_GE(after.finished_ms, after.started_ms + 12000);
  EXPECT_FALSE(f.sup->rollout_status("nope").has_value());
}

TEST(RolloutWindow, DependentsAreNotDegradedWhileTheirDependencyRolls) {
  ReloadFixture f;
  f.never_passes = is_v2;
  auto api = checked_service("api");
  auto web = checked_service("web", 1, 9090);
  web.depends_on.push_back({"api", config::DependencyCondition::healthy, true});
  f.start(config_of({api, web}));
  pid_t web_pid = f.pid("web", "web-0");
  ASSERT_GT(web_pid, 0);
  const Service& dependent = *f.sup->find("web");
  EXPECT_EQ(f.sup->degraded_by(dependent), std::nullopt);
  ASSERT_TRUE(f.reload(next_version(config_of({api, web}))));
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(3500ms);  // the new api instance fails its first checks
  EXPECT_EQ(f.sup->degraded_by(dependent), std::nullopt);
  f.script(fresh.id)->fallback = {HealthStatus::passing, "ok", core::Duration(0)};
  f.scheduler.advance(5s);
  EXPECT_EQ(f.sup->degraded_by(dependent), std::nullopt);
  f.scheduler.advance(10s);  // proven: the old api instance leaves
  EXPECT_EQ(f.rollout("api").state, "succeeded");
  EXPECT_EQ(f.sup->degraded_by(dependent), std::nullopt);
  EXPECT_EQ(f.pid("web", "web-0"), web_pid);
  EXPECT_EQ(f.launcher.signals_to(web_pid, SIGTERM), 0);
}

TEST(RolloutWindow, EveryStepIsAnEventNamingTheReplicaAndItsInstances) {
  ReloadFixture f;
  start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(11s);
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"started", "passing", "proven", "replaced", "succeeded"}))
      << joined(steps);
  bool replaced = false;
  for (const auto& e : f.events.recent(0, 100000)) {
    if (e.type != "service.rollout" || e.service != "api") continue;
    for (const char* key : {"state", "step"})
      EXPECT_TRUE(e.data.contains(key)) << key << " in " << e.data.dump();
    // A step of one replica names it and its two instances.
    std::string step = e.data.value("step", "");
    if (step == "passing" || step == "proven" || step == "replaced") {
      for (const char* key : {"replica", "old", "new"})
        EXPECT_TRUE(e.data.contains(key)) << key << " in " << e.data.dump();
    }
    if (step != "replaced") continue;
    replaced = true;
    EXPECT_EQ(e.data.value("replica", -1), 0);
    EXPECT_EQ(e.data.value("old", std::string()), "api-0");
    EXPECT_EQ(e.data.value("new", std::string()), fresh.id);
  }
  EXPECT_TRUE(replaced);
}

TEST(RolloutWindow, ABrokenWindowIsAnEventWithTheRevert) {
  ReloadFixture f;
  start_and_roll(f);
  Fresh fresh = fresh_of(f);
  f.scheduler.advance(3s);
  f.launcher.exit(fresh.pid, 1);
  f.scheduler.run_ready();
  auto steps = f.rollout_steps("api");
  EXPECT_TRUE(in_order(steps, {"started", "broken", "reverted"})) << joined(steps);
  bool rollback = false;
  for (const auto& e : f.events.recent(0, 100000)) rollback |= e.type == "service.rollback";
  EXPECT_TRUE(rollback);
}

}  // namespace
}  // namespace meshd::supervisor
