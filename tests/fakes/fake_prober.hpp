#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "fakes/fake_scheduler.hpp"
#include "meshd/health/prober.hpp"

namespace meshd::testing {

/// A Prober whose results a test scripts. Each run() records the time it
/// started and answers with the next scripted result (or the default).
class FakeProber final : public health::Prober {
 public:
  struct Script {
    std::deque<health::CheckResult> results;
    health::CheckResult fallback{health::HealthStatus::passing, "ok", core::Duration(0)};
    std::vector<core::TimePoint> runs;
    bool hold = false;  // keep the probe in flight until release()
    std::vector<Done> held;
  };

  FakeProber(std::shared_ptr<Script> script, const core::TimeSource& clock)
      : script_(std::move(script)), clock_(clock) {}

  void run(Done done) override {
    script_->runs.push_back(clock_.now());
    health::CheckResult r = script_->fallback;
    if (!script_->results.empty()) {
      r = script_->results.front();
      script_->results.pop_front();
    }
    if (script_->hold) {
      script_->held.push_back([done, r](health::CheckResult) { done(r); });
      return;
    }
    done(r);
  }

 private:
  std::shared_ptr<Script> script_;
  const core::TimeSource& clock_;
};

}  // namespace meshd::testing
