#include "meshd/health/health_checker.hpp"

#include <algorithm>

namespace meshd::health {

const std::vector<double>& ProbeLateness::bounds() {
  static const std::vector<double> b = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  return b;
}

void ProbeLateness::record(core::Duration late) {
  double s = std::max(0.0, std::chrono::duration<double>(late).count());
  const auto& b = bounds();
  ++counts[static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), s) - b.begin())];
  sum_seconds += s;
  max_seconds = std::max(max_seconds, s);
}

ProbeLateness& probe_lateness() {
  static ProbeLateness lateness;
  return lateness;
}

HealthChecker::HealthChecker(core::Scheduler& scheduler, config::HealthSpec spec,
                             std::unique_ptr<Prober> prober, std::function<double()> random01,
                             OnChange on_change)
    : scheduler_(scheduler),
      spec_(std::move(spec)),
      prober_(std::move(prober)),
      random01_(std::move(random01)),
      on_change_(std::move(on_change)),
      tracker_(spec_, scheduler.clock().now()),
      probe_timer_(scheduler),
      deadline_timer_(scheduler) {}

HealthChecker::~HealthChecker() {
  alive_.reset();  // expire the weak_ptrs held by pending callbacks
}

core::Duration HealthChecker::jitter() {
  if (spec_.jitter.count() <= 0) return core::Duration(0);
  return core::Duration(
      static_cast<long long>(random01_() * static_cast<double>(spec_.jitter.count())));
}

void HealthChecker::start() {
  ++generation_;
  running_ = true;
  tracker_.reset(scheduler_.clock().now());
  switch (spec_.type) {
    case config::CheckType::none:
      mark(HealthStatus::passing, "no health check: passing while running");
      break;
    case config::CheckType::ttl:
      arm_ttl();
      break;
    case config::CheckType::notify:
      if (spec_.start_period.count() > 0) {
        deadline_timer_.arm(spec_.start_period, [this] {
          if (tracker_.status() == HealthStatus::unknown)
            mark(HealthStatus::critical, "no READY=1 within the start period of " +
                                             std::to_string(spec_.start_period.count()) + "ms");
        });
      }
      break;
    default:
      if (prober_) schedule_probe(core::Duration(0));
  }
}

void HealthChecker::stop() {
  ++generation_;
  running_ = false;
  probe_timer_.cancel();
  deadline_timer_.cancel();
}

void HealthChecker::mark(HealthStatus status, std::string output) {
  if (tracker_.force(status, std::move(output)) && on_change_)
    on_change_(status, tracker_.last_output());
}

bool HealthChecker::pass_ttl(std::string note) {
  if (spec_.type != config::CheckType::ttl) return false;
  CheckResult result{HealthStatus::passing, note.empty() ? "TTL passed" : std::move(note),
                     core::Duration(0)};
  if (tracker_.record(result, scheduler_.clock().now()) && on_change_)
    on_change_(tracker_.status(), tracker_.last_output());
  arm_ttl();
  return true;
}

void HealthChecker::arm_ttl() {
  deadline_timer_.arm(spec_.ttl, [this] {
    mark(HealthStatus::critical, "TTL of " + std::to_string(spec_.ttl.count()) + "ms expired");
  });
}

void HealthChecker::schedule_probe(core::Duration base) {
  auto delay = base + jitter();
  probe_due_ = scheduler_.clock().now() + delay;
  probe_timer_.arm(delay, [this] {
    probe_lateness().record(
        std::chrono::duration_cast<core::Duration>(scheduler_.clock().now() - probe_due_));
    probe();
  });
}

void HealthChecker::probe() {
  std::weak_ptr<bool> alive = alive_;
  auto generation = generation_;
  prober_->run([this, alive, generation](CheckResult result) {
    if (alive.expired() || generation != generation_ || !running_) return;
    on_result(result);
  });
}

void HealthChecker::on_result(const CheckResult& result) {
  auto failed_before = tracker_.failed_checks();
  if (tracker_.record(result, scheduler_.clock().now())) {
    if (on_change_) on_change_(tracker_.status(), tracker_.last_output());
  } else if (tracker_.failed_checks() > failed_before && on_failed_) {
    on_failed_();
  }
  schedule_probe(tracker_.next_interval());
}

}  // namespace meshd::health
