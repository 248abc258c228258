#pragma once
// Private to the breaker module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <vector>

#include "meshd/breaker/sliding_window.hpp"

namespace meshd::breaker {

/// The calls of the last `span` (resilience4j's TIME_BASED window), kept in
/// one bucket per second so memory does not grow with traffic. The far edge
/// moves in whole seconds: a call leaves the window between span - 1 s and
/// span after it was recorded.
class TimeWindow final : public SlidingWindow {
 public:
  explicit TimeWindow(core::Duration span);

  void record(bool failure, bool slow, core::TimePoint now) override;
  WindowCounts counts(core::TimePoint now) const override;
  void clear() override;

 private:
  struct Bucket {
    std::int64_t second = -1;  // whole seconds of the clock's epoch; -1 unused
    WindowCounts counts;
  };
  std::vector<Bucket> buckets_;
};

}  // namespace meshd::breaker
