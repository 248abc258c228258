#pragma once

// A Supervisor on a fake clock with fake processes, readiness channels and
// probers, shared by the reload and rollout tests: a test starts a config,
// reloads another, and drives checks, exits and time by hand.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_launcher.hpp"
#include "fakes/fake_prober.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::supervisor {

/// A service with an active (http) check probed every second, a fixed
/// port and a rollout of min_healthy 10s within a 30s deadline: the shape
/// the rollout tests start from, at version "v1".
inline config::ServiceSpec checked_service(const std::string& name, int replicas = 1,
                                           std::uint16_t port = 8080) {
  using namespace std::chrono_literals;
  config::ServiceSpec s;
  s.name = name;
  s.command = {"/bin/" + name, "v1"};
  s.replicas = replicas;
  s.port = port;
  s.health.type = config::CheckType::http;
  s.health.interval = 1s;
  s.health.timeout = 500ms;
  s.health.unhealthy_threshold = 3;
  s.restart.backoff.initial = 100ms;
  s.shutdown.timeout = 5s;
  s.rollout.min_healthy = 10s;
  s.rollout.deadline = 30s;
  return s;
}

inline config::Config config_of(std::vector<config::ServiceSpec> services) {
  config::Config cfg;
  cfg.services = std::move(services);
  return cfg;
}

/// `cfg` with service `name` at version "v2": its command and its VERSION
/// variable (which probers see, see ReloadFixture::never_passes).
inline config::Config next_version(config::Config cfg, const std::string& name = "api") {
  for (auto& s : cfg.services)
    if (s.name == name) {
      s.command.at(1) = "v2";
      s.env["VERSION"] = "v2";
    }
  return cfg;
}

/// Whether a probe target is an instance of a "v2" definition.
inline bool is_v2(const health::ProbeTarget& target) {
  auto it = target.env.find("VERSION");
  return it != target.env.end() && it->second == "v2";
}

/// Whether `want` appears in `got` in this order (other items between).
inline bool in_order(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::size_t at = 0;
  for (const auto& g : got)
    if (at < want.size() && g == want[at]) ++at;
  return at == want.size();
}

inline std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

struct ReloadFixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  core::EventBus events{clock};
  testing::FakeReadiness readiness;
  std::map<std::string, std::function<void()>>& ready = readiness.ready;  // by instance id
  std::unique_ptr<Supervisor> sup;
  std::optional<ReloadReport> report;
  std::uint16_t next_free_port = 40000;

  /// Active checks (http, tcp, exec): each instance's prober answers from
  /// its own script, by instance id, passing unless the test says
  /// otherwise. `never_passes` picks the instances whose probes fail from
  /// their first one (decided when the instance is made, before any probe:
  /// a new instance's first probe runs as it starts).
  std::map<std::string, std::shared_ptr<testing::FakeProber::Script>> scripts;
  std::function<bool(const health::ProbeTarget&)> never_passes;

  void start(config::Config cfg) {
    InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    // The top of random01's range [0, 1): the longest jittered delays.
    deps.random01 = [] { return std::nextafter(1.0, 0.0); };
    deps.free_port = [this] { return std::optional<std::uint16_t>(next_free_port++); };
    deps.make_readiness_channel = readiness.factory();
    deps.make_prober = [this](const health::ProbeTarget& target) {
      auto& s = script(target.env.at("MESHD_INSTANCE"));
      if (never_passes && never_passes(target))
        s->fallback = {health::HealthStatus::critical, "connection refused", core::Duration(0)};
      return std::unique_ptr<health::Prober>(std::make_unique<testing::FakeProber>(s, clock));
    };
    sup = std::make_unique<Supervisor>(deps, events,
                                       std::make_shared<const config::Config>(std::move(cfg)));
    sup->start_all();
    scheduler.run_ready();
  }

  std::shared_ptr<testing::FakeProber::Script>& script(const std::string& id) {
    auto& s = scripts[id];
    if (!s) s = std::make_shared<testing::FakeProber::Script>();
    return s;
  }
  /// The next probe of instance `id` fails, the ones after pass again.
  void fail_next_check(const std::string& id) {
    script(id)->results.push_back({health::HealthStatus::critical, "HTTP 500", core::Duration(0)});
  }

  void make_ready(const std::string& id) {
    ASSERT_TRUE(ready.count(id)) << id;
    ready.at(id)();
    scheduler.run_ready();
  }

  core::Status reload(config::Config cfg) {
    report.reset();
    auto status = sup->reload(std::make_shared<const config::Config>(std::move(cfg)),
                              [this](ReloadReport r) { report = std::move(r); });
    scheduler.run_ready();
    return status;
  }

  const ReloadOutcome& outcome(const std::string& service) {
    static ReloadOutcome none;
    if (!report) return none;
    for (const auto& o : report->services)
      if (o.service == service) return o;
    return none;
  }

  std::vector<std::string> ids(const std::string& service) {
    std::vector<std::string> out;
    for (const auto& i : sup->find(service)->instances()) out.push_back(i->id());
    return out;
  }
  pid_t pid(const std::string& service, const std::string& id) {
    auto* i = sup->find(service)->find_instance(id);
    return i ? i->pid() : -1;
  }
  /// The youngest instance of replica `index` (the highest generation):
  /// during a rollout, its new instance once started.
  Instance* newest(const std::string& service, int index) {
    Instance* out = nullptr;
    for (const auto& i : sup->find(service)->instances())
      if (i->index() == index && (!out || i->generation() > out->generation())) out = i.get();
    return out;
  }
  /// The rollout of `service` as the API shows it.
  RolloutStatus rollout(const std::string& service) {
    auto r = sup->rollout_status(service);
    EXPECT_TRUE(r.has_value()) << service;
    return r.value_or(RolloutStatus{});
  }
  /// The `step` of every service.rollout event of `service`, oldest first.
  std::vector<std::string> rollout_steps(const std::string& service) {
    std::vector<std::string> out;
    for (const auto& e : events.recent(0, 100000))
      if (e.type == "service.rollout" && e.service == service && e.data.contains("step"))
        out.push_back(e.data["step"].is_string() ? e.data["step"].get<std::string>()
                                                 : e.data["step"].dump());
    return out;
  }
};

}  // namespace meshd::supervisor
