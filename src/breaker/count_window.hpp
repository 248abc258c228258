#pragma once
// Private to the breaker module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <vector>

#include "meshd/breaker/sliding_window.hpp"

namespace meshd::breaker {

/// The last `size` calls, whenever they happened (resilience4j's COUNT_BASED
/// window): a ring buffer with running totals, O(1) per call.
class CountWindow final : public SlidingWindow {
 public:
  explicit CountWindow(int size);

  void record(bool failure, bool slow, core::TimePoint now) override;
  WindowCounts counts(core::TimePoint now) const override;
  void clear() override;

 private:
  enum : std::uint8_t { kFailure = 1, kSlow = 2 };
  std::size_t size_;
  std::vector<std::uint8_t> outcomes_;  // kFailure | kSlow flags per call
  std::size_t next_ = 0;
  WindowCounts totals_;
};

}  // namespace meshd::breaker
