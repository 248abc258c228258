// GET /metrics: Prometheus exposition of meshd's state, assembled at scrape
// time from what the supervisor, registry, routes and catalog already keep.
#include <map>

#include "meshd/api/routes.hpp"
#include "meshd/breaker/breaker_state.hpp"
#include "meshd/gateway/access_log.hpp"
#include "meshd/health/health_checker.hpp"
#include "meshd/metrics/family_builder.hpp"
#include "meshd/metrics/process_stats.hpp"

namespace meshd::api {
namespace {

using metrics::FamilyBuilder;
using prometheus::MetricType;

constexpr const char* kProcessStates[] = {"pending", "starting", "running", "backoff",  "stopping",
                                          "stopped", "exited",   "failed",  "elsewhere"};
constexpr const char* kHealth[] = {"unknown", "passing", "warning", "critical"};
constexpr const char* kBreaker[] = {"closed", "open", "half_open", "forced_open", "disabled"};
constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr const char* kNodeStates[] = {"alive", "lost", "left"};

// The cluster's families, from the catalog backend: present (zero, and one
// alive node) on a single node too, so that dashboards and alerts need no
// special case.
void collect_cluster(const ApiContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder nodes("meshd_cluster_nodes", "meshd nodes this node knows, by state",
                      MetricType::Gauge);
  FamilyBuilder etcd_up("meshd_cluster_etcd_up",
                        "1 while the cluster's etcd answers (always 0 on a single node)",
                        MetricType::Gauge);
  FamilyBuilder lag("meshd_cluster_watch_lag_seconds",
                    "Age of the newest etcd watch response or progress notification",
                    MetricType::Gauge);
  FamilyBuilder writes("meshd_cluster_writes_total", "Puts and deletes sent to etcd",
                       MetricType::Counter);
  FamilyBuilder watch_events("meshd_cluster_watch_events_total",
                             "Key events received from the etcd watch", MetricType::Counter);
  FamilyBuilder bad("meshd_cluster_bad_records_total",
                    "Foreign or malformed keys under the cluster prefix, skipped",
                    MetricType::Counter);
  FamilyBuilder resyncs("meshd_cluster_resyncs_total",
                        "Full reloads of the catalog after the watch's revision was compacted",
                        MetricType::Counter);
  std::map<std::string, int> by_state;
  for (const char* s : kNodeStates) by_state[s] = 0;
  registry::CatalogBackend::Stats stats;
  if (ctx.catalog) {
    for (const auto& n : ctx.catalog->nodes()) ++by_state[n.state];
    stats = ctx.catalog->stats();
  }
  for (const auto& [state, count] : by_state) nodes.gauge({{"state", state}}, count);
  etcd_up.gauge({}, stats.etcd_up ? 1 : 0);
  lag.gauge({}, stats.watch_lag_seconds);
  writes.counter({}, static_cast<double>(stats.writes));
  watch_events.counter({}, static_cast<double>(stats.watch_events));
  bad.counter({}, static_cast<double>(stats.bad_records));
  resyncs.counter({}, static_cast<double>(stats.resyncs));
  for (FamilyBuilder* f : {&nodes, &etcd_up, &lag, &writes, &watch_events, &bad, &resyncs})
    out.push_back(f->build());
}

std::vector<prometheus::MetricFamily> collect(ApiContext& ctx, const MetricsSources& sources) {
  std::vector<prometheus::MetricFamily> out;
  auto now = ctx.scheduler->clock().now();
  auto wall = ctx.scheduler->clock().wall_now();

  FamilyBuilder up("meshd_service_up", "1 when at least one instance of the service is passing",
                   MetricType::Gauge);
  FamilyBuilder state("meshd_service_state",
                      "Process state of the service (1 for the current state)", MetricType::Gauge);
  FamilyBuilder restarts("meshd_service_restarts_total", "Restarts of the service's instances",
                         MetricType::Counter);
  FamilyBuilder health("meshd_instance_health", "Health of the instance (1 for the current status)",
                       MetricType::Gauge);
  FamilyBuilder uptime("meshd_instance_uptime_seconds",
                       "Seconds since the instance's process started", MetricType::Gauge);
  FamilyBuilder check("meshd_health_check_duration_seconds",
                      "Duration of the instance's last health check", MetricType::Gauge);
  for (const auto& svc : ctx.supervisor->services()) {
    const std::string& name = svc->name();
    up.gauge({{"service", name}}, svc->available() ? 1 : 0);
    std::string current = supervisor::to_string(svc->state());
    for (const char* s : kProcessStates)
      state.gauge({{"service", name}, {"state", s}}, current == s ? 1 : 0);
    restarts.counter({{"service", name}}, svc->restarts());
    for (const auto& i : svc->instances()) {
      if (auto t = i->started_at(); t && i->pid() > 0)
        uptime.gauge({{"service", name}, {"instance", i->id()}},
                     std::chrono::duration<double>(wall - *t).count());
      check.gauge({{"service", name}, {"instance", i->id()}},
                  std::chrono::duration<double>(i->checker().tracker().last_duration()).count());
    }
    for (const auto* r : ctx.registry->instances(name)) {
      std::string h = health::to_string(r->health);
      for (const char* s : kHealth)
        health.gauge({{"service", name}, {"instance", r->id}, {"status", s}}, h == s ? 1 : 0);
    }
  }

  FamilyBuilder requests("meshd_gateway_requests_total",
                         "Requests through the gateway by response class", MetricType::Counter);
  FamilyBuilder latency("meshd_gateway_request_duration_seconds",
                        "Time from request to response header", MetricType::Histogram);
  FamilyBuilder retries("meshd_gateway_retries_total", "Retries made by the gateway",
                        MetricType::Counter);
  FamilyBuilder rejected("meshd_gateway_rejected_total",
                         "Requests answered 503 because no instance could take them",
                         MetricType::Counter);
  FamilyBuilder rate_limited(
      "meshd_gateway_rate_limited_total",
      "Requests answered 429 because they were over the service's rate_limit", MetricType::Counter);
  FamilyBuilder upgraded("meshd_gateway_upgraded_connections",
                         "Upgraded connections (WebSocket) the gateway relays now",
                         MetricType::Gauge);
  FamilyBuilder ejections("meshd_outlier_ejections_total", "Instances ejected by outlier detection",
                          MetricType::Counter);
  FamilyBuilder transitions("meshd_breaker_transitions_total", "Circuit breaker state changes",
                            MetricType::Counter);
  FamilyBuilder breaker_state("meshd_breaker_state",
                              "Circuit breaker state (1 for the current state)", MetricType::Gauge);
  FamilyBuilder active("meshd_instance_active_requests", "Requests in flight on the instance",
                       MetricType::Gauge);
  if (ctx.routes) {
    for (const auto& [name, route] : ctx.routes->routes()) {
      auto& stats = route->stats();
      for (std::size_t c = 0; c < 5; ++c)
        requests.counter({{"service", name}, {"code", kClasses[c]}},
                         static_cast<double>(stats.by_class()[c]));
      latency.histogram({{"service", name}}, gateway::TrafficStats::latency_bounds(),
                        stats.latency_counts(), stats.latency_sum_seconds());
      retries.counter({{"service", name}}, static_cast<double>(stats.retries()));
      rejected.counter({{"service", name}}, static_cast<double>(stats.rejected()));
      rate_limited.counter({{"service", name}}, static_cast<double>(stats.rate_limited()));
      upgraded.gauge({{"service", name}}, static_cast<double>(stats.upgraded()));
      ejections.counter({{"service", name}}, static_cast<double>(route->ejections()));
      transitions.counter({{"service", name}}, static_cast<double>(route->breaker_transitions()));
      for (const auto& id : route->host_ids()) {
        std::string current = breaker::to_string(route->breaker(id)->state(now));
        for (const char* s : kBreaker)
          breaker_state.gauge({{"service", name}, {"instance", id}, {"state", s}},
                              current == s ? 1 : 0);
        active.gauge({{"service", name}, {"instance", id}}, route->host(id)->active_requests);
      }
    }
  }

  FamilyBuilder lateness("meshd_health_check_lateness_seconds",
                         "How late health probes started against their schedule",
                         MetricType::Histogram);
  const auto& late = health::probe_lateness();
  lateness.histogram({}, health::ProbeLateness::bounds(), late.counts, late.sum_seconds);

  auto p = metrics::read_process_stats();
  FamilyBuilder cpu("meshd_process_cpu_seconds_total", "CPU time meshd used (user + system)",
                    MetricType::Counter);
  cpu.counter({}, p.cpu_seconds);
  FamilyBuilder rss("meshd_process_resident_memory_bytes", "meshd's resident memory",
                    MetricType::Gauge);
  rss.gauge({}, static_cast<double>(p.resident_bytes));
  FamilyBuilder fds("meshd_process_open_fds", "File descriptors meshd has open", MetricType::Gauge);
  fds.gauge({}, static_cast<double>(p.open_fds));
  FamilyBuilder start("meshd_process_start_time_seconds", "When meshd started (Unix time)",
                      MetricType::Gauge);
  start.gauge({}, p.start_time_seconds);
  FamilyBuilder ws("meshd_websocket_clients", "WebSocket clients connected to /ws",
                   MetricType::Gauge);
  ws.gauge({}, sources.websocket_clients ? static_cast<double>(sources.websocket_clients()) : 0);
  FamilyBuilder parked("meshd_registry_blocking_queries",
                       "Blocking discover queries waiting for their service to change",
                       MetricType::Gauge);
  parked.gauge({}, sources.discovery ? static_cast<double>(parked_queries(*sources.discovery)) : 0);
  FamilyBuilder dropped("meshd_store_dropped_writes_total",
                        "Database writes dropped (queue full or refused)", MetricType::Counter);
  dropped.counter({}, static_cast<double>(ctx.database->dropped_writes()));
  FamilyBuilder access_log_dropped("meshd_gateway_access_log_dropped_total",
                                   "Access log records dropped (queue full or the file unwritable)",
                                   MetricType::Counter);
  access_log_dropped.counter({}, static_cast<double>(gateway::AccessLog::dropped_total()));
  FamilyBuilder events("meshd_events_total", "Events published since the database was created",
                       MetricType::Counter);
  events.counter({}, static_cast<double>(ctx.events->last_seq()));

  for (FamilyBuilder* f : {&up,           &state,
                           &restarts,     &health,
                           &uptime,       &check,
                           &requests,     &latency,
                           &retries,      &rejected,
                           &upgraded,     &ejections,
                           &transitions,  &breaker_state,
                           &active,       &lateness,
                           &cpu,          &rss,
                           &fds,          &start,
                           &ws,           &parked,
                           &dropped,      &events,
                           &rate_limited, &access_log_dropped})
    out.push_back(f->build());
  collect_cluster(ctx, out);
  return out;
}

}  // namespace

void register_metrics_route(Router& router, ApiContext& ctx, MetricsSources sources) {
  router.add("GET", "/metrics",
             require_token(ctx, false,
                           [&ctx, sources = std::move(sources)](const Request&, const Params&,
                                                                Respond respond) {
                             Response r;
                             r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                             r.body = metrics::serialize(collect(ctx, sources));
                             respond(std::move(r));
                           }));
}

}  // namespace meshd::api
