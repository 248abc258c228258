#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "meshd/breaker/breaker_state.hpp"
#include "meshd/breaker/sliding_window.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::breaker {

/// What the API shows about one breaker.
struct BreakerStats {
  BreakerState state = BreakerState::closed;
  WindowCounts window;        // closed: the sliding window; half open: the trial calls
  int consecutive_opens = 0;  // opens since the last successful close; sets the open time
  std::optional<core::TimePoint> open_until;
  int trial_calls_admitted = 0;  // half open only
};

/// A per-instance circuit breaker with resilience4j's semantics.
///
/// Closed: finished calls go into a sliding window (the last N calls, or
/// the calls of the last T bucketed per second). Once the window holds at
/// least minimum_calls (for a count window, at most its size), a failure
/// share >= failure_rate or a slow share >= slow_call_rate (slow: latency >=
/// slow_call_duration) opens it.
///
/// Open: rejects for open_for, doubled on each consecutive re-open up to
/// max_open_for; a successful close or reset() brings it back to open_for.
/// Then half open, evaluated lazily from `now`.
///
/// Half open: admits half_open_calls trial calls; when all have reported,
/// the same thresholds over the trials re-open it (doubled) or close it
/// with an empty window. max_half_open, counted from the first trial
/// admitted, bounds the wait for trials that never report: when it passes,
/// the trial results so far decide, and none at all re-opens it. (Counting
/// from the first trial rather than from entering half open means an idle
/// service is not re-opened again and again for having no traffic.)
///
/// Outcomes of calls admitted before the breaker opened are ignored while it
/// is open, and in half open only as many results count as trials were
/// admitted. Pure logic: time is an argument; not thread-safe.
class CircuitBreaker {
 public:
  /// Called on every state change, after it, with a reason for operators
  /// such as "failure rate 60% >= 50% over 20 calls".
  using TransitionCallback =
      std::function<void(BreakerState from, BreakerState to, const std::string& reason)>;

  explicit CircuitBreaker(const config::CircuitBreakerSpec& spec,
                          TransitionCallback on_transition = {});

  /// Asks for a permit to make a call. Closed and disabled always grant;
  /// open rejects; half open grants up to half_open_calls trials. Every
  /// granted permit must end in on_success, on_failure or release.
  bool try_acquire(core::TimePoint now);

  /// Whether try_acquire(now) would grant a permit, without taking one: for
  /// building the balancer's candidates, so that probing every host does not
  /// use up their half-open trial slots. Take the permit on the chosen host
  /// only.
  bool can_acquire(core::TimePoint now);

  /// A permitted call finished well; `latency` decides whether it was slow.
  void on_success(core::Duration latency, core::TimePoint now);
  /// A permitted call failed (the caller decides what a failure is).
  void on_failure(core::Duration latency, core::TimePoint now);
  /// A permitted call ended with no verdict (cancelled by the client); in
  /// half open its trial slot goes to the next call.
  void release(core::TimePoint now);

  /// The state at `now`; moves open to half open once the open time is over.
  BreakerState state(core::TimePoint now);
  /// When an open breaker will let trials through; empty unless open (call
  /// state(now) first so an elapsed open time is applied).
  std::optional<core::TimePoint> open_until() const;

  /// Opens until close() or reset(), whatever the calls do (operator action).
  void force_open();
  /// Back to closed with an empty window; the re-open doubling is kept.
  void close();
  /// Back to closed with an empty window and the open time back to open_for.
  void reset();

  /// Counters for the API, as of `now` (does not change state).
  BreakerStats stats(core::TimePoint now) const;

  void set_on_transition(TransitionCallback on_transition) {
    on_transition_ = std::move(on_transition);
  }
  const config::CircuitBreakerSpec& spec() const { return spec_; }

 private:
  void record(bool failure, core::Duration latency, core::TimePoint now);
  void advance(core::TimePoint now);
  void judge_trials(core::TimePoint now, const std::string& why);
  bool tripped(const WindowCounts& counts, std::string* reason) const;
  void trip(core::TimePoint now, const std::string& reason);
  void transition(BreakerState to, const std::string& reason);
  BreakerState resting_state() const;
  core::Duration open_duration() const;

  config::CircuitBreakerSpec spec_;
  TransitionCallback on_transition_;
  std::unique_ptr<SlidingWindow> window_;
  BreakerState state_;
  int consecutive_opens_ = 0;
  core::TimePoint open_until_{};
  // Half open bookkeeping.
  int trials_admitted_ = 0;
  std::optional<core::TimePoint> first_trial_;
  WindowCounts trials_;
};

}  // namespace meshd::breaker
