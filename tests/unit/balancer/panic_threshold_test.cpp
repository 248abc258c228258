#include "meshd/balancer/panic_threshold.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace meshd::balancer {
namespace {

struct Fixture {
  std::vector<std::unique_ptr<Host>> owned;
  std::vector<Host*> all;
  explicit Fixture(int n) {
    for (int i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Host>());
      all.push_back(owned.back().get());
    }
  }
  std::vector<Host*> first(std::size_t n) const { return {all.begin(), all.begin() + n}; }
};

TEST(PanicThreshold, BelowTheThresholdRoutesToAll) {
  Fixture f(5);
  bool panicking = false;
  EXPECT_EQ(apply_panic_threshold(f.first(2), f.all, 0.5, &panicking), f.all);  // 40% < 50%
  EXPECT_TRUE(panicking);
  EXPECT_EQ(apply_panic_threshold({}, f.all, 0.5, &panicking), f.all);
  EXPECT_TRUE(panicking);
}

TEST(PanicThreshold, AtOrAboveTheThresholdRoutesToTheEligible) {
  Fixture f(4);
  bool panicking = true;
  EXPECT_EQ(apply_panic_threshold(f.first(2), f.all, 0.5, &panicking), f.first(2));  // 50%
  EXPECT_FALSE(panicking);
  EXPECT_EQ(apply_panic_threshold(f.first(4), f.all, 1.0, nullptr), f.all);
}

TEST(PanicThreshold, ZeroFailsClosed) {
  Fixture f(3);
  bool panicking = true;
  EXPECT_TRUE(apply_panic_threshold({}, f.all, 0.0, &panicking).empty());
  EXPECT_FALSE(panicking);
  EXPECT_EQ(apply_panic_threshold(f.first(1), f.all, 0.0, &panicking), f.first(1));
}

}  // namespace
}  // namespace meshd::balancer
