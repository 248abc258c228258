#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/health/health_tracker.hpp"
#include "meshd/health/prober.hpp"

namespace meshd::health {

/// How late probes start against their schedule, over every checker of
/// the process (the loop is single-threaded). For /metrics and benchmarks:
/// a busy loop shows here first.
struct ProbeLateness {
  static const std::vector<double>& bounds();  // seconds
  std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(bounds().size() + 1, 0);
  double sum_seconds = 0;
  double max_seconds = 0;
  void record(core::Duration late);
};
ProbeLateness& probe_lateness();

/// The one probe loop of one instance; every consumer (supervisor,
/// registry, balancer) reads its result instead of probing again.
///
/// Active checks (http, tcp, exec) run one probe at a time: the next is
/// scheduled when the last one finishes, `interval` later (the unhealthy
/// interval while not passing) plus a random share of `jitter`; the first
/// probe is jittered too, so replicas started together do not probe in step.
/// Passive checks are fed from outside: `notify` by READY=1 (mark()),
/// `ttl` by pass_ttl(), `none` is passing as soon as the instance starts.
class HealthChecker {
 public:
  using OnChange = std::function<void(HealthStatus status, const std::string& output)>;

  /// `prober` may be null for passive types. `random01` returns values in
  /// [0, 1) and is injected so tests can pin the jitter.
  HealthChecker(core::Scheduler& scheduler, config::HealthSpec spec, std::unique_ptr<Prober> prober,
                std::function<double()> random01, OnChange on_change);
  ~HealthChecker();

  /// The instance (re)started: forget the past and begin checking.
  void start();
  /// The instance is gone: stop probing. Results of a probe in flight are dropped.
  void stop();
  /// Sets the status now, without thresholds (process exit, READY=1).
  void mark(HealthStatus status, std::string output);
  /// A TTL heartbeat: passing now, critical if the next one is late.
  /// Returns false when the check is not a TTL check.
  bool pass_ttl(std::string note);

  /// Also told of a failed result that does not change the status (below
  /// unhealthy_threshold): a rollout's proving window forgives none.
  void set_on_failed_check(std::function<void()> on_failed) { on_failed_ = std::move(on_failed); }

  const HealthTracker& tracker() const { return tracker_; }
  const config::HealthSpec& spec() const { return spec_; }
  bool running() const { return running_; }

 private:
  void schedule_probe(core::Duration base);
  void probe();
  void on_result(const CheckResult& result);
  void arm_ttl();
  core::Duration jitter();

  core::Scheduler& scheduler_;
  config::HealthSpec spec_;
  std::unique_ptr<Prober> prober_;
  std::function<void()> on_failed_;
  std::function<double()> random01_;
  OnChange on_change_;
  HealthTracker tracker_;
  core::Timer probe_timer_;
  core::Timer deadline_timer_;  // ttl expiry, notify start deadline
  bool running_ = false;
  std::uint64_t generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  core::TimePoint probe_due_{};
};

}  // namespace meshd::health
