// The `rollout:` block: how a process-level change replaces a service's
// instances. A value read wrong here turns a careful rollout into a careless
// one, so every key, its default, its limits and its errors are pinned.

#include "meshd/config/diff.hpp"
#include "test_support.hpp"

namespace meshd::config {
namespace {

using namespace std::chrono_literals;
using testing::load;

/// A service `api` whose rollout block holds `lines` (each indented under it).
std::string with_rollout(const std::string& lines) {
  std::string out = "services:\n  api:\n    command: x\n    rollout:\n";
  std::size_t at = 0;
  while (at < lines.size()) {
    auto end = lines.find('\n', at);
    if (end == std::string::npos) end = lines.size();
    out += "      " + lines.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return out;
}

// A copy: callers pass a Config that dies at the end of their expression.
RolloutSpec rollout_of(const Config& config, const std::string& service) {
  const auto* s = config.find(service);
  EXPECT_NE(s, nullptr) << service;
  return s ? s->rollout : RolloutSpec{};
}

TEST(RolloutBlock, EveryKeyIsRead) {
  auto config =
      load(with_rollout("min_healthy: 1500ms\ndeadline: 1m30s\nmax_parallel: 3\n"
                        "max_unavailable: 2\ncanary: 2\nauto_revert: false"));
  const auto& r = rollout_of(config, "api");
  EXPECT_EQ(r.min_healthy, 1500ms);
  EXPECT_EQ(r.deadline, 90s);
  EXPECT_EQ(r.max_parallel, 3);
  EXPECT_EQ(r.max_unavailable, 2);
  EXPECT_EQ(r.canary, 2);
  EXPECT_FALSE(r.auto_revert);
}

TEST(RolloutBlock, BooleansTakeTheYamlSpellings) {
  EXPECT_FALSE(rollout_of(load(with_rollout("auto_revert: no")), "api").auto_revert);
  EXPECT_TRUE(rollout_of(load(with_rollout("auto_revert: yes")), "api").auto_revert);
  EXPECT_TRUE(rollout_of(load(with_rollout("auto_revert: true")), "api").auto_revert);
}

TEST(RolloutBlock, DefaultsCostNoRequest) {
  // Absent, empty and null blocks all mean the defaults: one replica at a
  // time, beside its old instance, proven by 10s of passing within 2m.
  for (const std::string& yaml :
       {std::string("services:\n  api: {command: x}\n"),
        std::string("services:\n  api:\n    command: x\n    rollout: {}\n"),
        std::string("services:\n  api:\n    command: x\n    rollout:\n")}) {
    const auto& r = rollout_of(load(yaml), "api");
    EXPECT_EQ(r.min_healthy, 10s) << yaml;
    EXPECT_EQ(r.deadline, 2min) << yaml;
    EXPECT_EQ(r.max_parallel, 1) << yaml;
    EXPECT_EQ(r.max_unavailable, 0) << yaml;
    EXPECT_EQ(r.canary, 0) << yaml;
    EXPECT_TRUE(r.auto_revert) << yaml;
  }
}

TEST(RolloutBlock, LimitsThatAreAccepted) {
  // min_healthy 0: the first pass proves a new instance (the old gate).
  EXPECT_EQ(rollout_of(load(with_rollout("min_healthy: 0s")), "api").min_healthy, 0ms);
  EXPECT_EQ(rollout_of(load(with_rollout("deadline: 1s\nmin_healthy: 0s")), "api").deadline, 1s);
  EXPECT_EQ(rollout_of(load(with_rollout("max_parallel: 1000")), "api").max_parallel, 1000);
  EXPECT_EQ(rollout_of(load(with_rollout("max_unavailable: 0")), "api").max_unavailable, 0);
  // More canaries than replicas is not an error: the supervisor clamps it.
  auto many =
      load("services:\n  api:\n    command: x\n    replicas: 2\n    rollout: {canary: 5}\n");
  EXPECT_EQ(rollout_of(many, "api").canary, 5);
}

TEST(RolloutBlock, UnderDefaultsEveryServiceGetsItAndOneKeyIsOverridden) {
  auto config = load(R"(
defaults:
  rollout: {min_healthy: 30s, deadline: 5m, canary: 1, auto_revert: false}
services:
  a: {command: x}
  b:
    command: x
    rollout: {canary: 0}
)");
  const auto& a = rollout_of(config, "a");
  EXPECT_EQ(a.min_healthy, 30s);
  EXPECT_EQ(a.deadline, 5min);
  EXPECT_EQ(a.canary, 1);
  EXPECT_FALSE(a.auto_revert);
  EXPECT_EQ(a.max_parallel, 1);  // not in defaults: the built-in default
  const auto& b = rollout_of(config, "b");
  EXPECT_EQ(b.canary, 0);  // its own
  EXPECT_EQ(b.min_healthy, 30s);
  EXPECT_EQ(b.deadline, 5min);
  EXPECT_FALSE(b.auto_revert);
  EXPECT_EQ(config.defaults.rollout.canary, 1);
}

TEST(RolloutBlock, IntegersOutOfRange) {
  EXPECT_CONFIG_ERROR(with_rollout("max_parallel: 0"), 5, 21,
                      "services.api.rollout.max_parallel: expected an integer from 1 to 1000, "
                      "got '0'");
  EXPECT_CONFIG_ERROR(with_rollout("max_parallel: -2"), 5, 21,
                      "services.api.rollout.max_parallel: expected an integer from 1 to 1000, "
                      "got '-2'");
  EXPECT_CONFIG_ERROR(with_rollout("max_unavailable: -1"), 5, 24,
                      "services.api.rollout.max_unavailable: expected an integer from 0 to 1000, "
                      "got '-1'");
  EXPECT_CONFIG_ERROR(with_rollout("canary: x"), 5, 15,
                      "services.api.rollout.canary: expected an integer from 0 to 1000, got 'x'");
  EXPECT_CONFIG_ERROR(with_rollout("canary: 1.5"), 5, 15,
                      "services.api.rollout.canary: expected an integer from 0 to 1000, "
                      "got '1.5'");
}

TEST(RolloutBlock, BadDurationsAndBooleans) {
  EXPECT_CONFIG_ERROR(with_rollout("min_healthy: 10"), 5, 20,
                      "services.api.rollout.min_healthy: expected a duration like 250ms, 2s or "
                      "5m, got '10' (a bare number has no unit)");
  EXPECT_CONFIG_ERROR(with_rollout("deadline: 500ms"), 5, 17,
                      "services.api.rollout.deadline: must be at least 1s, got '500ms'");
  EXPECT_CONFIG_ERROR(with_rollout("auto_revert: maybe"), 5, 20,
                      "services.api.rollout.auto_revert: expected true or false, got 'maybe'");
  EXPECT_CONFIG_ERROR(with_rollout("max_parallel: [1]"), 5, 21,
                      "services.api.rollout.max_parallel: expected an integer from 1 to 1000, "
                      "got a list");
}

TEST(RolloutBlock, ADeadlineNoInstanceCouldMeet) {
  // Equal is as bad as shorter: the window could never close in time.
  EXPECT_CONFIG_ERROR(with_rollout("min_healthy: 10s\ndeadline: 10s"), 6, 17,
                      "services.api.rollout.deadline: must be longer than min_healthy (10s), or "
                      "no new instance could make it");
  EXPECT_CONFIG_ERROR(with_rollout("deadline: 5s"), 5, 17,
                      "services.api.rollout.deadline: must be longer than min_healthy (10s), or "
                      "no new instance could make it");
  // Only min_healthy written, past the default deadline: it is the culprit.
  EXPECT_CONFIG_ERROR(with_rollout("min_healthy: 5m"), 5, 20,
                      "services.api.rollout.min_healthy: must be shorter than the deadline (2m "
                      "by default); set rollout.deadline longer too");
}

TEST(RolloutBlock, UnknownKeysSuggestTheClosestOne) {
  EXPECT_CONFIG_ERROR(
      with_rollout("min_health: 5s"), 5, 7,
      "unknown key 'min_health' in services.api.rollout (did you mean 'min_healthy'?)");
  EXPECT_CONFIG_ERROR(with_rollout("max_surge: 1"), 5, 7,
                      "unknown key 'max_surge' in services.api.rollout");
  EXPECT_CONFIG_ERROR(with_rollout("canry: 1"), 5, 7,
                      "unknown key 'canry' in services.api.rollout (did you mean 'canary'?)");
  EXPECT_CONFIG_ERROR(
      "defaults:\n  rollout:\n    autorevert: true\nservices:\n  api: {command: x}\n", 3, 5,
      "unknown key 'autorevert' in defaults.rollout (did you mean 'auto_revert'?)");
}

TEST(RolloutBlock, ABadValueUnderDefaultsIsReportedThere) {
  EXPECT_CONFIG_ERROR(
      "defaults:\n  rollout:\n    max_parallel: 0\nservices:\n  api: {command: x}\n", 3, 19,
      "defaults.rollout.max_parallel: expected an integer from 1 to 1000, got '0'");
}

const char* kBase = R"(
services:
  api:
    command: ["/bin/api", "v1"]
    port: 8080
    rollout: {min_healthy: 10s}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(RolloutDiff, ChangingOnlyTheRolloutAppliesInPlace) {
  // A new min_healthy must not restart the processes it is meant to protect.
  for (const std::string& to :
       {std::string("{min_healthy: 30s}"), std::string("{min_healthy: 10s, canary: 1}"),
        std::string("{min_healthy: 10s, auto_revert: false}"),
        std::string("{min_healthy: 10s, deadline: 5m, max_parallel: 2, max_unavailable: 1}")}) {
    auto d = diff_configs(load(kBase), load(with(kBase, "{min_healthy: 10s}", to)));
    const auto* api = d.find("api");
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(api->change, ServiceChange::in_place) << to;
    EXPECT_EQ(api->fields, std::vector<std::string>{"rollout"}) << to;
  }
}

TEST(RolloutDiff, TheSameValuesSpelledDifferentlyAreNoChange) {
  auto d = diff_configs(
      load(kBase), load(with(kBase, "{min_healthy: 10s}", "{min_healthy: 10000ms, deadline: 2m}")));
  EXPECT_TRUE(d.empty());
}

TEST(RolloutDiff, UnderDefaultsItIsInPlaceForEveryService) {
  auto next = "defaults:\n  rollout: {deadline: 5m}\n" + std::string(kBase);
  auto d = diff_configs(load(kBase), load(next));
  const auto* api = d.find("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->change, ServiceChange::in_place);
  EXPECT_EQ(api->fields, std::vector<std::string>{"rollout"});
}

TEST(RolloutDiff, WithAProcessChangeItIsStillAReplacement) {
  auto next = with(with(kBase, "{min_healthy: 10s}", "{min_healthy: 20s}"), "\"v1\"", "\"v2\"");
  auto d = diff_configs(load(kBase), load(next));
  const auto* api = d.find("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->change, ServiceChange::replace);
}

}  // namespace
}  // namespace meshd::config
