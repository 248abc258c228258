#pragma once

namespace meshd::breaker {

/// A circuit breaker's state, as the API and dashboard show it (SPEC 3).
enum class BreakerState {
  closed,       // calls flow; outcomes are counted
  open,         // calls rejected until the open time ends
  half_open,    // a few trial calls decide between closed and open
  forced_open,  // opened by an operator; stays open until closed or reset
  disabled,     // circuit_breaker.enabled is false: always admits
};

/// "closed", "open", "half_open", "forced_open", "disabled".
const char* to_string(BreakerState state);

}  // namespace meshd::breaker
