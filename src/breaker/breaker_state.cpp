#include "meshd/breaker/breaker_state.hpp"

#include <cassert>

namespace meshd::breaker {

const char* to_string(BreakerState state) {
  switch (state) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
    case BreakerState::forced_open:
      return "forced_open";
    case BreakerState::disabled:
      return "disabled";
  }
  assert(false && "BreakerState without a name");
  return "closed";
}

}  // namespace meshd::breaker
