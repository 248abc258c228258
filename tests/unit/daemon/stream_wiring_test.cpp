// StreamWiring on a fake clock: what a WebSocket client of GET /ws receives
// as services change, as the metrics tick comes round, and as a service
// prints lines, with the timers run by the fake scheduler.

#include "daemon/stream_wiring.hpp"

#include <gtest/gtest.h>

#include "daemon/registry_sync.hpp"
#include "fakes/fake_catalog.hpp"
#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "fakes/fake_stream_client.hpp"

namespace meshd::daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

config::ServiceSpec spec(const std::string& name) {
  config::ServiceSpec s;
  s.name = name;
  s.command = {"/bin/" + name};
  s.health.type = config::CheckType::notify;
  s.health.start_period = 5s;
  return s;
}

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  testing::FakeReadiness readiness;
  core::EventBus events{clock};
  std::unique_ptr<supervisor::Supervisor> supervisor;
  registry::Registry registry;
  supervisor::Supervisor::Subscription registry_follows;
  testing::FakeCatalog catalog;  // two nodes: gpu-box (this one) and cpu-box
  api::ApiContext ctx;
  std::unique_ptr<StreamWiring> wiring;
  testing::FakeStreamClient client;
  int summaries = 0;

  explicit Fixture(StreamWiringOptions options = {}) {
    config::Config cfg;
    cfg.services.push_back(spec("api"));
    supervisor::InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    deps.random01 = [] { return 0.5; };
    deps.make_readiness_channel = readiness.factory();
    supervisor = std::make_unique<supervisor::Supervisor>(
        deps, events, std::make_shared<const config::Config>(cfg));
    supervisor::Supervisor::Listener follow;
    follow.services_changed = [this] {
      std::vector<std::string> names;
      for (const auto& s : supervisor->services()) names.push_back(s->name());
      registry.set_services(names);
    };
    follow.changed = [this](const supervisor::Service& s) { sync_service(registry, s); };
    registry_follows = supervisor->subscribe(follow);
    ctx.supervisor = supervisor.get();
    ctx.registry = &registry;
    ctx.events = &events;
    ctx.catalog = &catalog;
    wiring = std::make_unique<StreamWiring>(
        scheduler, [this](std::function<void()> fn) { scheduler.post(std::move(fn)); }, ctx,
        options);
    wiring->set_metrics_summary([this] { return json{{"summary", ++summaries}}; });
    wiring->hub().join(client);
  }
  ~Fixture() {
    wiring->hub().leave(client);
    wiring.reset();
  }

  void subscribe(const std::string& topic) {
    wiring->hub().receive(client, R"({"op":"subscribe","topics":[")" + topic + R"("]})");
  }
  // The deltas of `topic` received since the last call (snapshots skipped).
  std::vector<json> deltas(const std::string& topic) {
    std::vector<json> out;
    for (auto& m : client.drain())
      if (m["type"] == topic) out.push_back(m);
    return out;
  }
};

TEST(StreamWiring, TheMetricsTopicPublishesOnEachTick) {
  StreamWiringOptions options;
  options.tick = 1000ms;
  Fixture f(options);
  f.subscribe("metrics");
  EXPECT_TRUE(f.deltas("metrics").empty());  // only the snapshot so far
  f.scheduler.advance(999ms);
  EXPECT_TRUE(f.deltas("metrics").empty());
  f.scheduler.advance(1ms);
  auto one = f.deltas("metrics");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["key"], "summary");
  int first = one[0]["data"]["summary"];
  for (int tick = 1; tick <= 3; ++tick) {
    f.scheduler.advance(1s);
    auto next = f.deltas("metrics");
    ASSERT_EQ(next.size(), 1u) << "tick " << tick;
    EXPECT_EQ(next[0]["data"]["summary"], first + tick);
  }
}

TEST(StreamWiring, AServiceThatChangesIsSentOnceAndABurstIsCoalesced) {
  StreamWiringOptions options;
  options.min_flush_interval = 50ms;
  options.tick = 1h;  // no safety pass in the way
  Fixture f(options);
  f.subscribe("services");
  f.client.drain();
  f.supervisor->start_all();
  f.scheduler.run_ready();
  auto started = f.deltas("services");
  ASSERT_EQ(started.size(), 1u);  // the first change after a quiet spell goes out at once
  EXPECT_EQ(started[0]["key"], "api");
  EXPECT_EQ(started[0]["data"]["state"], "starting");
  // READY=1 and more changes within the interval: one pass when it ends.
  f.readiness.ready.at("api-0")();
  f.scheduler.run_ready();
  EXPECT_TRUE(f.deltas("services").empty());
  f.scheduler.advance(50ms);
  auto ready = f.deltas("services");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]["data"]["state"], "running");
  f.scheduler.advance(10s);
  EXPECT_TRUE(f.deltas("services").empty());  // nothing changed, nothing sent
}

TEST(StreamWiring, AServiceAddedByAReloadStreamsItsLogs) {
  Fixture f;
  auto next = f.supervisor->config();
  next.services.push_back(spec("worker"));
  f.supervisor->start_all();
  f.scheduler.run_ready();
  ASSERT_TRUE(f.supervisor->reload(std::make_shared<const config::Config>(next),
                                   [](supervisor::ReloadReport) {}));
  f.scheduler.run_ready();
  f.subscribe("logs:worker");
  f.client.drain();
  const std::string text = "hello from worker\n";
  f.supervisor->find("worker")->logs()->feed("worker-0", supervisor::LogStream::stdout_stream,
                                             text.data(), text.size(), 0);
  f.scheduler.run_ready();
  auto lines = f.deltas("logs:worker");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["data"]["line"], "hello from worker");
  EXPECT_EQ(lines[0]["data"]["instance"], "worker-0");
}

TEST(StreamWiring, LogLinesOverTheLimitAreCountedNotSent) {
  StreamWiringOptions options;
  options.log_lines_per_second = 3;
  Fixture f(options);
  f.subscribe("logs:api");
  f.client.drain();
  const std::string text = "1\n2\n3\n4\n5\n";
  auto& logs = *f.supervisor->find("api")->logs();
  logs.feed("api-0", supervisor::LogStream::stdout_stream, text.data(), text.size(), 0);
  f.scheduler.run_ready();
  auto out = f.deltas("logs:api");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2]["data"]["line"], "3");
  EXPECT_EQ(out[3]["key"], "dropped");
  EXPECT_EQ(out[3]["data"]["dropped"], 2);
  f.scheduler.advance(1s);  // a new second, a new allowance
  logs.feed("api-0", supervisor::LogStream::stdout_stream, "6\n", 2, 0);
  f.scheduler.run_ready();
  out = f.deltas("logs:api");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["data"]["line"], "6");
}

TEST(StreamWiring, TheNodesTopicFollowsTheCatalogAndTheInstanceCounts) {
  StreamWiringOptions options;
  options.tick = 1h;
  Fixture f(options);
  f.subscribe("nodes");
  auto snapshot = f.client.drain();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0]["type"], "snapshot");
  EXPECT_EQ(snapshot[0]["topic"], "nodes");
  const auto& body = snapshot[0]["data"];
  EXPECT_EQ(body["stale"], false);
  EXPECT_EQ(body["clustered"], true);
  ASSERT_EQ(body["nodes"].size(), 2u);
  EXPECT_EQ(body["nodes"][0]["name"], "gpu-box");
  EXPECT_EQ(body["nodes"][0]["self"], true);
  EXPECT_EQ(body["nodes"][1]["name"], "cpu-box");
  EXPECT_EQ(body["nodes"][1]["instances"], 0);

  // The catalog loses etcd: the daemon calls nodes_changed() from its hook.
  f.catalog.is_stale = true;
  f.wiring->nodes_changed();
  auto stale = f.deltas("nodes");
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0]["key"], "nodes");
  EXPECT_EQ(stale[0]["data"]["stale"], true);

  // A node leaves.
  f.catalog.node_list[1].state = "left";
  f.wiring->nodes_changed();
  auto left = f.deltas("nodes");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["data"]["nodes"][1]["state"], "left");

  // Another node's instance arrives: its count moves without a catalog hook.
  registry::InstanceRecord remote;
  remote.id = "api-0@cpu-box";
  remote.service = "api";
  remote.node = "cpu-box";
  remote.origin = registry::Origin::remote;
  remote.remote_origin = "managed";
  f.registry.upsert(remote);
  f.scheduler.advance(100ms);
  auto counted = f.deltas("nodes");
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0]["data"]["nodes"][1]["instances"], 1);

  // Nothing about the nodes changed: nothing more is sent.
  f.supervisor->start_all();
  f.scheduler.advance(1s);
  EXPECT_TRUE(f.deltas("nodes").empty());
}

}  // namespace
}  // namespace meshd::daemon
