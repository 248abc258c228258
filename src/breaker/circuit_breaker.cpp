#include "meshd/breaker/circuit_breaker.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace meshd::breaker {
namespace {

std::string percent(double share) {
  return std::to_string(std::lround(share * 100)) + "%";
}

std::string format_duration(core::Duration d) {
  const auto ms = d.count();
  if (ms >= 60000 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms >= 1000 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string calls(int n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

CircuitBreaker::CircuitBreaker(const config::CircuitBreakerSpec& spec,
                               TransitionCallback on_transition)
    : spec_(spec),
      on_transition_(std::move(on_transition)),
      window_(make_sliding_window(spec)),
      state_(resting_state()) {}

BreakerState CircuitBreaker::resting_state() const {
  return spec_.enabled ? BreakerState::closed : BreakerState::disabled;
}

core::Duration CircuitBreaker::open_duration() const {
  const core::Duration cap = std::max(spec_.max_open_for, spec_.open_for);
  core::Duration d = spec_.open_for;
  for (int i = 1; i < consecutive_opens_ && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

void CircuitBreaker::transition(BreakerState to, const std::string& reason) {
  const BreakerState from = state_;
  state_ = to;
  trials_admitted_ = 0;
  first_trial_.reset();
  trials_ = {};
  if (from != to && on_transition_) on_transition_(from, to, reason);
}

void CircuitBreaker::trip(core::TimePoint now, const std::string& reason) {
  ++consecutive_opens_;
  const core::Duration d = open_duration();
  open_until_ = now + d;
  window_->clear();
  transition(BreakerState::open, reason + "; open for " + format_duration(d));
}

bool CircuitBreaker::tripped(const WindowCounts& counts, std::string* reason) const {
  // No failures (or no slow calls) is never a breach, even against a 0%
  // threshold.
  if (counts.failures > 0 && counts.failure_rate() >= spec_.failure_rate) {
    *reason =
        "failure rate " + percent(counts.failure_rate()) + " >= " + percent(spec_.failure_rate);
    return true;
  }
  if (counts.slow_calls > 0 && counts.slow_call_rate() >= spec_.slow_call_rate) {
    *reason = "slow call rate " + percent(counts.slow_call_rate()) +
              " >= " + percent(spec_.slow_call_rate) +
              " (slow: >= " + format_duration(spec_.slow_call_duration) + ")";
    return true;
  }
  return false;
}

void CircuitBreaker::judge_trials(core::TimePoint now, const std::string& why) {
  const std::string over = " over " + calls(trials_.calls, "trial call");
  std::string reason;
  if (tripped(trials_, &reason)) {
    trip(now, why + reason + over);
    return;
  }
  reason = why + "failure rate " + percent(trials_.failure_rate()) + " < " +
           percent(spec_.failure_rate) + over;
  consecutive_opens_ = 0;
  window_->clear();
  transition(BreakerState::closed, reason);
}

void CircuitBreaker::advance(core::TimePoint now) {
  if (state_ == BreakerState::open && now >= open_until_) {
    transition(BreakerState::half_open,
               "open time over, admitting " + calls(spec_.half_open_calls, "trial call"));
  }
  if (state_ == BreakerState::half_open && first_trial_ &&
      now - *first_trial_ >= spec_.max_half_open) {
    const std::string waited = "half open for " + format_duration(spec_.max_half_open);
    if (trials_.calls == 0) {
      trip(now, waited + " with no trial call reported");
    } else {
      judge_trials(now, waited + " with " + std::to_string(trials_.calls) + " of " +
                            std::to_string(spec_.half_open_calls) + " trial results: ");
    }
  }
}

bool CircuitBreaker::can_acquire(core::TimePoint now) {
  advance(now);
  switch (state_) {
    case BreakerState::closed:
    case BreakerState::disabled:
      return true;
    case BreakerState::open:
    case BreakerState::forced_open:
      return false;
    case BreakerState::half_open:
      return trials_admitted_ < spec_.half_open_calls;
  }
  assert(false && "BreakerState without an admission rule");
  return false;
}

bool CircuitBreaker::try_acquire(core::TimePoint now) {
  if (!can_acquire(now)) return false;
  if (state_ == BreakerState::half_open) {
    ++trials_admitted_;
    if (!first_trial_) first_trial_ = now;
  }
  return true;
}

void CircuitBreaker::on_success(core::Duration latency, core::TimePoint now) {
  record(false, latency, now);
}

void CircuitBreaker::on_failure(core::Duration latency, core::TimePoint now) {
  record(true, latency, now);
}

void CircuitBreaker::record(bool failure, core::Duration latency, core::TimePoint now) {
  advance(now);
  const bool slow = latency >= spec_.slow_call_duration;
  if (state_ == BreakerState::closed) {
    window_->record(failure, slow, now);
    const WindowCounts counts = window_->counts(now);
    int minimum = spec_.minimum_calls;
    if (spec_.window_kind == config::CircuitBreakerSpec::WindowKind::count)
      minimum = std::min(minimum, spec_.window_calls);  // a full window is enough
    std::string reason;
    if (counts.calls >= minimum && tripped(counts, &reason))
      trip(now, reason + " over " + calls(counts.calls, "call"));
  } else if (state_ == BreakerState::half_open) {
    if (trials_.calls >= trials_admitted_) return;  // not one of the trials
    ++trials_.calls;
    trials_.failures += failure ? 1 : 0;
    trials_.slow_calls += slow ? 1 : 0;
    if (trials_.calls >= spec_.half_open_calls) judge_trials(now, "");
  }
  // Open, forced open, disabled: outcomes change nothing.
}

void CircuitBreaker::release(core::TimePoint now) {
  advance(now);
  if (state_ != BreakerState::half_open || trials_admitted_ <= trials_.calls) return;
  --trials_admitted_;
  if (trials_admitted_ == 0) first_trial_.reset();
}

BreakerState CircuitBreaker::state(core::TimePoint now) {
  advance(now);
  return state_;
}

std::optional<core::TimePoint> CircuitBreaker::open_until() const {
  if (state_ != BreakerState::open) return std::nullopt;
  return open_until_;
}

void CircuitBreaker::force_open() {
  window_->clear();
  transition(BreakerState::forced_open, "forced open by an operator");
}

void CircuitBreaker::close() {
  window_->clear();
  transition(resting_state(), "closed by an operator");
}

void CircuitBreaker::reset() {
  consecutive_opens_ = 0;
  window_->clear();
  transition(resting_state(), "reset by an operator");
}

BreakerStats CircuitBreaker::stats(core::TimePoint now) const {
  BreakerStats s;
  s.state = state_;
  s.consecutive_opens = consecutive_opens_;
  if (state_ == BreakerState::open && now >= open_until_) {
    s.state = BreakerState::half_open;  // as state(now) would report
  } else if (state_ == BreakerState::open) {
    s.open_until = open_until_;
  }
  if (state_ == BreakerState::half_open) {
    s.window = trials_;
    s.trial_calls_admitted = trials_admitted_;
  } else if (state_ == BreakerState::closed) {
    s.window = window_->counts(now);
  }
  return s;
}

}  // namespace meshd::breaker
