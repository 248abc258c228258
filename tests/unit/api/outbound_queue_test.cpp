#include "meshd/api/outbound_queue.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/fake_clock.hpp"

namespace meshd::api {
namespace {

using namespace std::chrono_literals;

OutboundMessage state(const std::string& key, const std::string& text,
                      const std::string& topic = "services") {
  return {std::make_shared<const std::string>(text), topic, key, false, false, 0};
}
OutboundMessage event(const std::string& text) {
  return {std::make_shared<const std::string>(text), "events", "", false, false, 0};
}
OutboundMessage line(const std::string& text, std::int64_t seq = 7) {
  return {std::make_shared<const std::string>(text), "logs:web", "", true, false, seq};
}

// Writes everything out, front to back, as the session does.
std::vector<std::string> drain(OutboundQueue& q) {
  std::vector<std::string> out;
  while (auto t = q.begin_write()) {
    out.push_back(*t);
    q.end_write();
  }
  return out;
}

class OutboundQueueTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
};

TEST_F(OutboundQueueTest, SameKeyIsReplacedInPlaceAndOrderIsKept) {
  OutboundQueue q;
  EXPECT_EQ(q.push(state("web", "web-1"), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(state("db", "db-1"), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(state("web", "web-2"), clock.now()), PushResult::coalesced);
  EXPECT_EQ(q.push(state("web", "web-3"), clock.now()), PushResult::coalesced);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"web-3", "db-1"}));
}

TEST_F(OutboundQueueTest, SameKeyInAnotherTopicIsNotCoalesced) {
  OutboundQueue q;
  q.push(state("web", "a", "services"), clock.now());
  q.push(state("web", "b", "breakers"), clock.now());
  EXPECT_EQ(q.size(), 2u);
}

TEST_F(OutboundQueueTest, TheMessageBeingWrittenIsNeverReplaced) {
  OutboundQueue q;
  q.push(state("web", "web-1"), clock.now());
  ASSERT_EQ(*q.begin_write(), "web-1");
  EXPECT_EQ(q.begin_write(), nullptr) << "one write in flight";
  EXPECT_EQ(q.push(state("web", "web-2"), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(state("web", "web-3"), clock.now()), PushResult::coalesced);
  q.end_write();
  EXPECT_EQ(drain(q), (std::vector<std::string>{"web-3"}));
}

TEST_F(OutboundQueueTest, EventsAreNeverCoalesced) {
  OutboundQueue q;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(q.push(event("e" + std::to_string(i)), clock.now()), PushResult::queued);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"e0", "e1", "e2", "e3", "e4"}));
}

TEST_F(OutboundQueueTest, DeltasAfterASnapshotDoNotJumpAheadOfIt) {
  OutboundQueue q;
  q.push(state("web", "delta-1"), clock.now());
  auto snap = state("", "snapshot");
  snap.snapshot = true;
  q.push(snap, clock.now());
  EXPECT_EQ(q.push(state("web", "delta-2"), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(state("web", "delta-3"), clock.now()), PushResult::coalesced);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"delta-1", "snapshot", "delta-3"}));
}

TEST_F(OutboundQueueTest, MessageBoundIsEnforced) {
  OutboundQueue q(QueueLimits{4, 1 << 20, 5000ms, 0.75});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.push(event("e"), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(event("e"), clock.now()), PushResult::overflow);
  EXPECT_EQ(q.push(state("web", "s"), clock.now()), PushResult::overflow);
  EXPECT_EQ(q.size(), 4u);
}

TEST_F(OutboundQueueTest, ByteBoundCountsLargeMessages) {
  OutboundQueue q(QueueLimits{100, 100, 5000ms, 0.75});
  std::string forty(40, 'x');
  EXPECT_EQ(q.push(event(forty), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(event(forty), clock.now()), PushResult::queued);
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(q.push(event(forty), clock.now()), PushResult::overflow);
  // Replacing a key adjusts the count by the difference.
  OutboundQueue r(QueueLimits{100, 100, 5000ms, 0.75});
  r.push(state("web", std::string(10, 'a')), clock.now());
  r.push(state("web", std::string(30, 'b')), clock.now());
  EXPECT_EQ(r.bytes(), 30u);
  drain(r);
  EXPECT_EQ(r.bytes(), 0u);
}

TEST_F(OutboundQueueTest, OneMessageLargerThanTheBoundGoesIntoAnEmptyQueue) {
  OutboundQueue q(QueueLimits{100, 100, 5000ms, 0.75});
  EXPECT_EQ(q.push(event(std::string(500, 's')), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(event("e"), clock.now()), PushResult::overflow);
}

TEST_F(OutboundQueueTest, LogLinesAreDroppedFirstWithOneMarker) {
  OutboundQueue q(QueueLimits{8, 1 << 20, 5000ms, 0.5});
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(q.push(line("l" + std::to_string(i)), clock.now()), PushResult::queued);
  EXPECT_EQ(q.push(line("l4", 41), clock.now()), PushResult::dropped);
  EXPECT_EQ(q.push(line("l5", 42), clock.now()), PushResult::dropped);
  EXPECT_EQ(q.push(line("l6", 43), clock.now()), PushResult::dropped);
  EXPECT_EQ(q.size(), 5u) << "four lines and one marker that counts";
  // State still has room: lines never crowd it out.
  EXPECT_EQ(q.push(state("web", "s"), clock.now()), PushResult::queued);
  auto out = drain(q);
  ASSERT_EQ(out.size(), 6u);
  auto marker = nlohmann::json::parse(out[4]);
  EXPECT_EQ(marker["type"], "logs:web");
  EXPECT_EQ(marker["key"], "dropped");
  EXPECT_EQ(marker["data"]["dropped"], 3);
  EXPECT_EQ(marker["seq"], 43);
  EXPECT_EQ(out[5], "s");
  EXPECT_EQ(q.dropped_total(), 3u);
}

TEST_F(OutboundQueueTest, StateEvictsQueuedLogLinesWhenFull) {
  OutboundQueue q(QueueLimits{6, 1 << 20, 5000ms, 1.0});
  for (int i = 0; i < 4; ++i) q.push(line("l" + std::to_string(i)), clock.now());
  q.push(event("e0"), clock.now());
  q.push(event("e1"), clock.now());
  EXPECT_EQ(q.push(event("e2"), clock.now()), PushResult::queued);
  auto out = drain(q);
  // l0 and l1 made room for a marker and for e2; order otherwise kept.
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0], "l2");
  EXPECT_EQ(out[1], "l3");
  EXPECT_EQ(out[2], "e0");
  EXPECT_EQ(out[3], "e1");
  EXPECT_EQ(nlohmann::json::parse(out[4])["data"]["dropped"], 2);
  EXPECT_EQ(out[5], "e2");
}

TEST_F(OutboundQueueTest, AfterTheMarkerIsSentANewOneStartsFromZero) {
  OutboundQueue q(QueueLimits{2, 1 << 20, 5000ms, 0.5});
  q.push(line("l0"), clock.now());
  EXPECT_EQ(q.push(line("l1"), clock.now()), PushResult::dropped);
  auto out = drain(q);
  ASSERT_EQ(out.size(), 2u);
  q.push(line("l2"), clock.now());
  EXPECT_EQ(q.push(line("l3"), clock.now()), PushResult::dropped);
  out = drain(q);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(out[1])["data"]["dropped"], 1);
}

TEST_F(OutboundQueueTest, StalledWhenTheOldestMessageWaitedTooLong) {
  OutboundQueue q(QueueLimits{100, 1 << 20, 5000ms, 0.75});
  EXPECT_FALSE(q.stalled(clock.now()));
  q.push(state("web", "a"), clock.now());
  clock.advance(3000ms);
  q.push(state("web", "b"), clock.now());  // coalesced: still waiting since the first
  EXPECT_FALSE(q.stalled(clock.now()));
  clock.advance(2001ms);
  EXPECT_TRUE(q.stalled(clock.now()));
  q.begin_write();
  EXPECT_TRUE(q.stalled(clock.now())) << "a write that does not finish is still behind";
  q.end_write();
  EXPECT_FALSE(q.stalled(clock.now()));
}

TEST_F(OutboundQueueTest, ClearKeepsOnlyTheWriteInFlight) {
  OutboundQueue q;
  q.push(event("a"), clock.now());
  q.push(event("b"), clock.now());
  q.push(line("c"), clock.now());
  q.begin_write();
  q.clear();
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 1u);
  q.end_write();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.push(state("web", "x"), clock.now()), PushResult::queued);
}

}  // namespace
}  // namespace meshd::api
