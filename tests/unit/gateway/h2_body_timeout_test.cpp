#include "gateway/h2_body_timeout.hpp"

#include <gtest/gtest.h>

namespace meshd::gateway::h2 {
namespace {

using namespace std::chrono;

constexpr SteadyTime at(int ms) {
  return SteadyTime{} + hours(1) + milliseconds(ms);
}

TEST(BodyTimeout, EndsABodyIdleForTheServicesTimeout) {
  BodyTimeout t{milliseconds(500), std::nullopt};
  auto last = at(0);
  EXPECT_EQ(t.due(last), at(500));
  EXPECT_EQ(t.expired(at(499), last, false), std::nullopt);
  auto why = t.expired(at(500), last, false);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "no response data within 500ms");
}

TEST(BodyTimeout, DataMovesTheIdleClock) {
  BodyTimeout t{milliseconds(500), std::nullopt};
  auto last = at(400);  // DATA came at 400 ms: a timer armed for 500 ms looks again
  EXPECT_EQ(t.expired(at(500), last, false), std::nullopt);
  EXPECT_EQ(t.due(last), at(900));
  EXPECT_TRUE(t.expired(at(900), last, false));
}

TEST(BodyTimeout, AClientBehindIsNoStallOfTheInstances) {
  BodyTimeout t{milliseconds(500), std::nullopt};
  auto last = at(0);
  EXPECT_EQ(t.expired(at(5000), last, true), std::nullopt);
  EXPECT_EQ(last, at(5000));  // the clock starts again from here
  EXPECT_EQ(t.due(last), at(5500));
}

TEST(BodyTimeout, AGrpcTimeoutBoundsTheWholeBody) {
  BodyTimeout t{milliseconds(500), at(1200)};
  auto last = at(1000);
  EXPECT_EQ(t.due(last), at(1200));
  EXPECT_EQ(t.expired(at(1199), last, false), std::nullopt);
  auto why = t.expired(at(1200), last, true);  // however busy the stream is
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "the call's grpc-timeout has passed");
}

}  // namespace
}  // namespace meshd::gateway::h2
