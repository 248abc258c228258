#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "log_forwarder.hpp"
#include "meshd/api/http_server.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/stream_hub.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::daemon {

struct StreamWiringOptions {
  /// Log lines forwarded to the stream per service and second; the rest
  /// are counted and announced as {"dropped": N}.
  std::size_t log_lines_per_second = 200;
  /// services/health deltas are recomputed at most this often: the first
  /// change after a quiet spell goes out at once, a burst costs one pass
  /// per interval.
  core::Duration min_flush_interval{50};
  /// The metrics summary, and a safety pass over services/health.
  core::Duration tick{1000};
  api::StreamHubOptions hub;
  api::WebSocketOptions websocket;
};

/// Feeds the WebSocket stream (api::StreamHub) from the daemon's state:
/// services and health deltas whenever the supervisor or the registry
/// report a change (recomputed views, sent only when they differ), every
/// event of the EventBus, each service's new log lines (posted from the
/// log thread, rate-limited), and a metrics summary each tick.
///
/// It subscribes to the supervisor, so it hears about every service there
/// is and every one a reload adds; construct it before the services start
/// (log hooks must be in place before output flows). Timers and time come
/// from `scheduler`; `post` carries log lines from the log thread. Destroy
/// it before the scheduler.
class StreamWiring {
 public:
  StreamWiring(core::Scheduler& scheduler, PostToLoop post, api::ApiContext& context,
               StreamWiringOptions options = {});
  ~StreamWiring();
  StreamWiring(const StreamWiring&) = delete;
  StreamWiring& operator=(const StreamWiring&) = delete;

  /// The handler for GET /ws, for HttpServer::set_upgrade().
  api::HttpServer::Upgrade upgrade() const;
  api::StreamHub& hub();

  /// The "breakers" snapshot, once the breaker module is wired; its deltas
  /// go through hub().publish("breakers", key, data, seq).
  void set_breakers(std::function<nlohmann::json()> snapshot);
  /// The per-service rate/latency/error summary sent on "metrics" each tick.
  void set_metrics_summary(std::function<nlohmann::json()> summary);

  /// The catalog's nodes changed, or it became stale or reachable again
  /// (the daemon calls this from the catalog's nodes_changed and
  /// stale_changed): the "nodes" topic gets the whole GET /api/v1/nodes
  /// body. Instance counts that move with the registry are sent without it.
  void nodes_changed();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace meshd::daemon
