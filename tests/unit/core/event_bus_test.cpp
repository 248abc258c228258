#include "meshd/core/event_bus.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::core {
namespace {

TEST(EventBus, NumbersEventsOnFromTheLastStoredSeq) {
  testing::FakeClock clock;
  EventBus bus(clock, 41);
  EXPECT_EQ(bus.publish("a", "svc", "", "first").seq, 42);
  EXPECT_EQ(bus.publish("b", "svc", "", "second").seq, 43);
  EXPECT_EQ(bus.last_seq(), 43);
}

TEST(EventBus, CallsSubscribersAndStopsAfterUnsubscribe) {
  testing::FakeClock clock;
  EventBus bus(clock);
  std::vector<std::string> seen;
  int id = bus.subscribe([&](const Event& e) { seen.push_back(e.message); });
  bus.publish("t", "", "", "one");
  bus.unsubscribe(id);
  bus.publish("t", "", "", "two");
  EXPECT_EQ(seen, std::vector<std::string>{"one"});
}

TEST(EventBus, RecentReturnsEventsAfterSinceWithinLimitAndMemory) {
  testing::FakeClock clock;
  EventBus bus(clock, 0, 5);
  for (int i = 0; i < 8; ++i) bus.publish("t", "", "", std::to_string(i));
  EXPECT_EQ(bus.oldest_seq(), 4);  // only the last five are kept
  auto after6 = bus.recent(6, 10);
  ASSERT_EQ(after6.size(), 2u);
  EXPECT_EQ(after6[0].seq, 7);
  EXPECT_EQ(after6[1].seq, 8);
  auto limited = bus.recent(0, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].seq, 4);
}

TEST(EventBus, JsonCarriesAllFields) {
  testing::FakeClock clock;
  EventBus bus(clock);
  auto j = bus.publish("service.state", "api", "api-0", "api: a -> b", {{"to", "b"}}).to_json();
  EXPECT_EQ(j["type"], "service.state");
  EXPECT_EQ(j["service"], "api");
  EXPECT_EQ(j["instance"], "api-0");
  EXPECT_EQ(j["data"]["to"], "b");
  EXPECT_TRUE(j["time_ms"].is_number_integer());
}

}  // namespace
}  // namespace meshd::core
