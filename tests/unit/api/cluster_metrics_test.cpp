// GET /metrics' cluster families, from the catalog backend's counters:
// each with its HELP and TYPE, and present on a single node too.

#include <gtest/gtest.h>

#include "fakes/fake_catalog.hpp"
#include "fakes/fake_database.hpp"
#include "fakes/fake_launcher.hpp"
#include "fakes/fake_readiness.hpp"
#include "fakes/fake_scheduler.hpp"
#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  testing::FakeLauncher launcher;
  testing::FakeReadiness readiness;
  testing::FakeDatabase database;
  core::EventBus events{clock};
  std::unique_ptr<supervisor::Supervisor> supervisor;
  registry::Registry registry;
  testing::FakeCatalog catalog;
  ApiContext ctx;
  Router router;

  Fixture() {
    supervisor::InstanceDeps deps;
    deps.scheduler = &scheduler;
    deps.launcher = &launcher;
    deps.random01 = [] { return 0.5; };
    deps.make_readiness_channel = readiness.factory();
    supervisor = std::make_unique<supervisor::Supervisor>(deps, events,
                                                          std::make_shared<const config::Config>());
    ctx.config = std::make_shared<config::Config>();
    ctx.supervisor = supervisor.get();
    ctx.registry = &registry;
    ctx.scheduler = &scheduler;
    ctx.events = &events;
    ctx.database = &database;
    ctx.catalog = &catalog;
    register_metrics_route(router, ctx, {});
  }

  std::string scrape() {
    Request req;
    req.method = "GET";
    req.target = req.path = "/metrics";
    std::string out;
    router.dispatch(req, [&out](Response r) { out = std::string(r.body_text()); });
    return out;
  }
};

bool has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(ClusterMetrics, CountersAndGaugesComeFromTheCatalog) {
  Fixture f;
  f.catalog.node_list[1].state = "lost";
  f.catalog.counters.etcd_up = true;
  f.catalog.counters.watch_lag_seconds = 0.25;
  f.catalog.counters.writes = 12;
  f.catalog.counters.watch_events = 34;
  f.catalog.counters.bad_records = 2;
  f.catalog.counters.resyncs = 1;
  auto text = f.scrape();
  EXPECT_TRUE(has(text, "meshd_cluster_nodes{state=\"alive\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_nodes{state=\"lost\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_nodes{state=\"left\"} 0\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_etcd_up 1\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_watch_lag_seconds 0.25\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_writes_total 12\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_watch_events_total 34\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_bad_records_total 2\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_resyncs_total 1\n")) << text;
  EXPECT_TRUE(has(text, "# TYPE meshd_cluster_writes_total counter\n")) << text;
  EXPECT_TRUE(has(text, "# TYPE meshd_cluster_etcd_up gauge\n")) << text;
  for (const char* name :
       {"meshd_cluster_nodes", "meshd_cluster_etcd_up", "meshd_cluster_watch_lag_seconds",
        "meshd_cluster_writes_total", "meshd_cluster_watch_events_total",
        "meshd_cluster_bad_records_total", "meshd_cluster_resyncs_total"})
    EXPECT_TRUE(has(text, std::string("# HELP ") + name + " ")) << name;
}

TEST(ClusterMetrics, ASingleNodeShowsThemAtZero) {
  Fixture f;
  f.catalog.node_list.resize(1);
  f.catalog.is_clustered = false;
  auto text = f.scrape();
  EXPECT_TRUE(has(text, "meshd_cluster_nodes{state=\"alive\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_etcd_up 0\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_writes_total 0\n")) << text;
  EXPECT_TRUE(has(text, "meshd_cluster_bad_records_total 0\n")) << text;
}

}  // namespace
}  // namespace meshd::api
