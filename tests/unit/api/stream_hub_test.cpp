#include "meshd/api/stream_hub.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"

namespace meshd::api {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A client without a socket: what it would write is what its queue holds.
class FakeClient final : public StreamClient {
 public:
  explicit FakeClient(QueueLimits limits = {}) : StreamClient(limits) {}
  std::string remote() const override { return "127.0.0.1:1"; }
  void wake() override { ++wakes; }
  void drop(const std::string& reason) override { drop_reason = reason; }

  std::vector<json> drain() {
    std::vector<json> out;
    while (auto text = queue().begin_write()) {
      out.push_back(json::parse(*text));
      queue().end_write();
    }
    return out;
  }

  int wakes = 0;
  std::string drop_reason;
};

class StreamHubTest : public ::testing::Test {
 protected:
  StreamHubTest() : hub(clock, StreamHubOptions{QueueLimits{}, 3}) {
    hub.set_sequence([this] { return seq; });
    hub.set_service_exists([](const std::string& name) { return name == "web"; });
    hub.set_snapshot("services", [](const std::string&) {
      return json{{"services", json::array({{{"name", "web"}}})}};
    });
    hub.set_snapshot("logs:", [](const std::string& topic) { return json{{"topic", topic}}; });
    hub.set_history([this](std::int64_t since, std::size_t limit) {
      std::vector<json> out;
      for (std::int64_t s = since + 1; s <= seq && out.size() < limit; ++s)
        out.push_back({{"seq", s}, {"type", "t"}});
      return out;
    });
    hub.on_drop = [this](const std::string& remote, const std::string& reason) {
      drops.push_back(remote + " " + reason);
    };
  }

  testing::FakeClock clock;
  StreamHub hub;
  std::int64_t seq = 10;
  std::vector<std::string> drops;
};

TEST_F(StreamHubTest, SubscribeSendsOneSnapshotPerNewTopic) {
  FakeClient c;
  hub.join(c);
  hub.receive(
      c,
      R"({"op":"subscribe","topics":["services","health","breakers","events","metrics","logs:web"]})");
  auto out = c.drain();
  ASSERT_EQ(out.size(), 6u);
  for (const auto& m : out) {
    EXPECT_EQ(m["type"], "snapshot");
    EXPECT_EQ(m["seq"], 10);
  }
  EXPECT_EQ(out[0]["topic"], "services");
  EXPECT_EQ(out[0]["data"]["services"][0]["name"], "web");
  EXPECT_EQ(out[1]["data"], json::object()) << "no provider: {}";
  EXPECT_EQ(out[2]["data"], (json{{"breakers", json::array()}}));
  EXPECT_EQ(out[5]["data"]["topic"], "logs:web");
  EXPECT_GT(c.wakes, 0);
  // Subscribing again to a topic already followed sends nothing more.
  hub.receive(c, R"({"op":"subscribe","topics":["services","services"]})");
  EXPECT_TRUE(c.drain().empty());
  EXPECT_EQ(hub.subscribers("services"), 1u);
}

TEST_F(StreamHubTest, BadMessagesGetAnErrorAndChangeNothing) {
  FakeClient c;
  hub.join(c);
  struct Case {
    const char* text;
    const char* code;
  } cases[] = {
      {"{not json", "invalid_argument"},
      {"[1,2]", "invalid_argument"},
      {R"({"topics":["services"]})", "invalid_argument"},
      {R"({"op":"dance"})", "invalid_argument"},
      {R"({"op":"subscribe"})", "invalid_argument"},
      {R"({"op":"subscribe","topics":[]})", "invalid_argument"},
      {R"({"op":"subscribe","topics":["services",3]})", "invalid_argument"},
      {R"({"op":"subscribe","topics":["services","weather"]})", "invalid_argument"},
      {R"({"op":"subscribe","topics":["services","logs:nope"]})", "not_found"},
      {R"({"op":"subscribe","topics":["logs:"]})", "invalid_argument"},
      {R"({"op":"subscribe","topics":["events"],"since":-1})", "invalid_argument"},
      {R"({"op":"subscribe","topics":["events"],"since":"5"})", "invalid_argument"},
      {R"({"op":"unsubscribe","topics":["weather"]})", "invalid_argument"},
  };
  for (const auto& k : cases) {
    hub.receive(c, k.text);
    auto out = c.drain();
    ASSERT_EQ(out.size(), 1u) << k.text;
    EXPECT_EQ(out[0]["type"], "error") << k.text;
    EXPECT_EQ(out[0]["error"]["code"], k.code) << k.text;
    EXPECT_FALSE(out[0]["error"]["message"].get<std::string>().empty());
  }
  EXPECT_TRUE(c.topics().empty());
  EXPECT_EQ(hub.subscribers("services"), 0u);
  // And the connection still works.
  hub.receive(c, R"({"op":"ping"})");
  auto out = c.drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (json{{"type", "pong"}}));
}

TEST_F(StreamHubTest, DeltasGoToSubscribersOnlyAndAreSerialisedOnce) {
  FakeClient a, b, other;
  for (auto* c : {&a, &b, &other}) hub.join(*c);
  hub.receive(a, R"({"op":"subscribe","topics":["services"]})");
  hub.receive(b, R"({"op":"subscribe","topics":["services"]})");
  hub.receive(other, R"({"op":"subscribe","topics":["health"]})");
  a.drain();
  b.drain();
  other.drain();
  hub.publish("services", "web", {{"state", "stopped"}}, 11);
  auto ta = a.queue().begin_write();
  auto tb = b.queue().begin_write();
  ASSERT_TRUE(ta && tb);
  EXPECT_EQ(ta.get(), tb.get()) << "one serialisation shared by every queue";
  EXPECT_EQ(
      json::parse(*ta),
      (json{{"type", "services"}, {"seq", 11}, {"key", "web"}, {"data", {{"state", "stopped"}}}}));
  EXPECT_TRUE(other.queue().empty());
  a.queue().end_write();
  hub.receive(a, R"({"op":"unsubscribe","topics":["services"]})");
  hub.publish("services", "web", {{"state", "running"}}, 12);
  EXPECT_TRUE(a.drain().empty());
}

TEST_F(StreamHubTest, ASlowClientGetsTheLatestStatePerKey) {
  FakeClient c;
  hub.join(c);
  hub.receive(c, R"({"op":"subscribe","topics":["services","events"]})");
  c.drain();
  for (int i = 0; i < 50; ++i) {
    hub.publish("services", "web", {{"n", i}}, 11 + i);
    hub.publish("services", "db", {{"n", i}}, 11 + i);
  }
  hub.publish("events", "61", {{"seq", 61}}, 61);
  hub.publish("events", "62", {{"seq", 62}}, 62);
  auto out = c.drain();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0]["key"], "web");
  EXPECT_EQ(out[0]["data"]["n"], 49);
  EXPECT_EQ(out[1]["key"], "db");
  EXPECT_EQ(out[2]["seq"], 61);
  EXPECT_EQ(out[3]["seq"], 62);
}

TEST_F(StreamHubTest, ResubscribingWithSinceReplaysMissedEvents) {
  FakeClient c;
  hub.join(c);
  seq = 12;
  hub.receive(c, R"({"op":"subscribe","topics":["services","events"],"since":10})");
  auto out = c.drain();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0]["type"], "snapshot");
  EXPECT_EQ(out[1]["type"], "snapshot");
  EXPECT_EQ(
      out[2],
      (json{
          {"type", "events"}, {"seq", 11}, {"key", "11"}, {"data", {{"seq", 11}, {"type", "t"}}}}));
  EXPECT_EQ(out[3]["seq"], 12);
}

TEST_F(StreamHubTest, AnOldSinceAnnouncesTheGapAndReplaysTheNewest) {
  FakeClient c;
  hub.join(c);
  seq = 20;  // the replay limit is 3
  hub.receive(c, R"({"op":"subscribe","topics":["events"],"since":5})");
  auto out = c.drain();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1]["key"], "gap");
  EXPECT_EQ(out[1]["data"]["since"], 5);
  EXPECT_EQ(out[1]["data"]["until"], 17);
  EXPECT_EQ(out[2]["seq"], 18);
  EXPECT_EQ(out[4]["seq"], 20);
}

TEST_F(StreamHubTest, AClientThatStopsReadingIsDroppedAndOthersKeepReceiving) {
  FakeClient slow(QueueLimits{16, 1 << 20, 5000ms, 0.75}), fast;
  hub.join(slow);
  hub.join(fast);
  hub.receive(slow, R"({"op":"subscribe","topics":["events"]})");
  hub.receive(fast, R"({"op":"subscribe","topics":["events"]})");
  fast.drain();
  for (int i = 1; i <= 40; ++i) {
    hub.publish("events", std::to_string(i), {{"seq", i}}, i);
    EXPECT_EQ(fast.drain().size(), 1u);
  }
  EXPECT_FALSE(slow.drop_reason.empty());
  EXPECT_TRUE(slow.dropped());
  EXPECT_TRUE(slow.topics().empty());
  EXPECT_EQ(hub.subscribers("events"), 1u);
  EXPECT_LE(slow.queue().size(), 1u) << "the backlog is freed at once";
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(hub.dropped_clients(), 1u);
}

TEST_F(StreamHubTest, AClientBehindForTooLongIsDropped) {
  FakeClient c;
  hub.join(c);
  hub.receive(c, R"({"op":"subscribe","topics":["health"]})");
  ASSERT_TRUE(c.queue().begin_write());  // a write that never finishes
  clock.advance(4000ms);
  hub.publish("health", "overall", {{"status", "degraded"}}, 11);
  EXPECT_TRUE(c.drop_reason.empty());
  clock.advance(1500ms);
  hub.publish("health", "overall", {{"status", "healthy"}}, 12);
  EXPECT_NE(c.drop_reason.find("behind"), std::string::npos) << c.drop_reason;
}

TEST_F(StreamHubTest, LogLinesAreDroppedBeforeAnythingElse) {
  FakeClient c(QueueLimits{8, 1 << 20, 5000ms, 0.5});
  hub.join(c);
  hub.receive(c, R"({"op":"subscribe","topics":["logs:web","services"]})");
  c.drain();
  for (int i = 0; i < 10; ++i)
    hub.publish("logs:web", "web-0:" + std::to_string(i), {{"line", i}}, 11);
  hub.publish("services", "web", {{"state", "running"}}, 12);
  EXPECT_TRUE(c.drop_reason.empty());
  auto out = c.drain();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0]["data"]["line"], 0);
  EXPECT_EQ(out[4]["key"], "dropped");
  EXPECT_EQ(out[4]["data"]["dropped"], 6);
  EXPECT_EQ(out[5]["type"], "services");
}

TEST_F(StreamHubTest, LeavingUnsubscribesEverything) {
  {
    FakeClient c;
    hub.join(c);
    hub.receive(c, R"({"op":"subscribe","topics":["services","events"]})");
    EXPECT_EQ(hub.clients(), 1u);
    hub.leave(c);
  }
  EXPECT_EQ(hub.clients(), 0u);
  EXPECT_EQ(hub.subscribers("services"), 0u);
  hub.publish("services", "web", {}, 11);  // nobody to deliver to
}

}  // namespace
}  // namespace meshd::api
