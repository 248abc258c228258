#pragma once

#include "meshd/core/clock.hpp"

namespace meshd::testing {

/// A clock that moves only when a test advances it.
class FakeClock final : public core::TimeSource {
 public:
  core::TimePoint now() const override { return now_; }
  core::WallTime wall_now() const override {
    return core::WallTime(
        std::chrono::duration_cast<core::WallTime::duration>(now_.time_since_epoch()));
  }
  void advance(core::Duration d) { now_ += d; }
  void set(core::TimePoint t) { now_ = t; }

 private:
  core::TimePoint now_ = core::TimePoint(std::chrono::hours(1000));
};

}  // namespace meshd::testing
