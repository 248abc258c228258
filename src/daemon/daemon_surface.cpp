// The steps of Daemon::run that face the outside: the API and its
// WebSocket stream, the listening sockets, the gateway, reloads and
// signals (the parts they use are built in daemon.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>
#include <thread>

#include "daemon_state.hpp"
#include "data_dir.hpp"
#include "meshd/api/openapi.hpp"
#include "meshd/api/static_files.hpp"
#include "meshd/core/listen.hpp"
#include "meshd/core/process.hpp"
#include "meshd/gateway/access_log.hpp"
#include "traffic_views.hpp"
#include "version.hpp"

namespace meshd::daemon {

namespace fs = std::filesystem;

// Every field of the API's context and every route, in one place: the
// routes reach the rest of meshd only through what is set here.
void Daemon::State::build_api() {
  api_context.supervisor = supervisor.get();
  api_context.registry = registry.get();
  api_context.registrations = registrations.get();
  api_context.catalog = catalog.get();
  api_context.events = events.get();
  api_context.database = database.get();
  api_context.routes = routes.get();
  api_context.scheduler = scheduler.get();
  api_context.config = config;
  api_context.version = kVersion;
  api_follows_config = [this](const std::shared_ptr<const config::Config>& next) {
    api_context.config = next;
  };
  tests = std::make_unique<api::DeclaredTests>(clock, *events);
  api::register_routes(router, api_context, *tests);
  auto discovery = api::register_registry_routes(router, api_context, random01);
  api::register_traffic_routes(router, api_context);
  api::register_node_routes(router, api_context);
  api::register_metrics_route(
      router, api_context,
      {discovery, [this] { return streams ? streams->hub().clients() : std::size_t{0}; }});
  api::register_dashboard_routes(router);
  api::register_openapi_routes(router, kVersion);
  // The config routes are registered by start_reloader, with the reloader.
  api::HttpServerOptions http_options;
  http_options.cors_origins = config->mesh.cors_origins;
  http_options.stale = [this] { return catalog && catalog->stale(); };
  http = std::make_unique<api::HttpServer>(io, router, http_options);
}

// GET /ws: services, health, events, logs, breakers and metrics, live.
void Daemon::State::start_streams() {
  auto post = [this](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); };
  StreamWiringOptions stream_options;
  if (options.ws_idle_timeout) stream_options.websocket.idle_timeout = *options.ws_idle_timeout;
  streams = std::make_unique<StreamWiring>(*scheduler, post, api_context, stream_options);
  http->set_upgrade(streams->upgrade());
  streams->set_metrics_summary([this] { return metrics_summary(*routes, clock.now()); });
  streams->set_breakers([this] { return breakers_view(*routes, clock.now()); });
}

void Daemon::State::listen_api() {
  api_address = http->listen(config->mesh.listen);
  write_file_atomically(data_dir / "listen", api_address.to_string() + "\n");
  bool loopback = core::is_loopback_host(api_address.host);
  spdlog::info("meshd {} listening on http://{} ({}), data_dir {}", kVersion,
               api_address.to_string(), loopback ? "loopback only" : "reachable from the network",
               data_dir.string());
  if (!loopback && config->mesh.api_token.empty())
    spdlog::warn(
        "listening on {} without mesh.api_token: anyone who can reach it can stop your services",
        api_address.to_string());
}

void Daemon::State::start_gateway() {
  if (!config->mesh.gateway) {
    std::error_code ignored;
    fs::remove(data_dir / "gateway", ignored);
    spdlog::info("no mesh.gateway: the data path is off (resolve/report still work)");
    return;
  }
  gateway::GatewayOptions gateway_options;
  // 0: one per core, at most 8 (more loops than cores only compete).
  int threads = config->mesh.gateway_threads;
  if (threads <= 0)
    threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  gateway_options.threads = static_cast<unsigned>(threads);
  if (config->mesh.access_log.enabled())  // throws one clear line when it cannot be opened
    access_log = std::make_shared<gateway::AccessLog>(config->mesh.access_log);
  gateway_options.access_log = access_log;
  gateway = std::make_unique<gateway::Gateway>(io, *routes, clock, random01, gateway_options);
  auto bound = gateway->listen(*config->mesh.gateway);
  write_file_atomically(data_dir / "gateway", bound.to_string() + "\n");
  spdlog::info("gateway listening on http://{} (http://{}/<service>/<path>) with {} thread{}",
               bound.to_string(), bound.to_string(), threads, threads == 1 ? "" : "s");
  tests->use_gateway(io, bound);
}

void Daemon::State::follow_config(const std::shared_ptr<const config::Config>& next) {
  api_follows_config(next);
  routes->set_config(catalog_sync->routing_config(next));
  for (const auto& [name, route] : routes->routes()) route->update(*registry, clock.now());
  spdlog::set_level(spdlog::level::from_str(next->mesh.log_level));
}

// Reloads (SPEC 6): SIGHUP, the API, /admin/config, and --dev's file watch.
void Daemon::State::start_reloader() {
  ConfigReloader::Hooks hooks;
  hooks.begin = [this](const std::shared_ptr<const config::Config>& next,
                       const config::ConfigDiff& diff) {
    for (const auto& d : diff.services)
      if (d.change == config::ServiceChange::removed)
        if (auto route = routes->find(d.name)) retired_routes[d.name] = route;
    apply_placement(*next);
    follow_config(next);
  };
  hooks.finished = [this](const std::shared_ptr<const config::Config>& running) {
    config = running;
    apply_placement(*running);
    follow_config(running);
    retired_routes.clear();
  };
  reloader = std::make_unique<ConfigReloader>(*scheduler, options, *supervisor, *database, *events,
                                              config, config_version, std::move(hooks));
  api::register_config_routes(router, api_context, *reloader);
  if (options.dev) reloader->watch_file();
}

void Daemon::State::handle_signals() {
  SignalActions actions;
  actions.reload = [this] {
    if (!reloader) return spdlog::warn("SIGHUP while meshd starts: ignored");
    spdlog::info("SIGHUP: reloading {}", config->source_path);
    reloader->reload_in_background("SIGHUP");
  };
  actions.shut_down = [this](int sig) {
    spdlog::info("{}: shutting down gracefully (send it again to kill everything now)",
                 core::signal_name(sig));
    if (gateway) {
      gateway->stop();
      auto accepted = gateway->accepted();
      std::string counts;
      for (auto n : accepted) counts += (counts.empty() ? "" : ", ") + std::to_string(n);
      spdlog::info("gateway: connections accepted per thread: [{}]", counts);
    }
    supervisor->shutdown([this] {
      spdlog::info("all services stopped; exiting");
      // In a cluster: say goodbye (the lease is revoked, so the other
      // nodes drop this one at once instead of after lease_ttl).
      auto finish = [this] {
        if (http) http->stop();
        io.stop();
      };
      if (catalog)
        catalog->stop(finish);
      else
        finish();
    });
  };
  actions.kill_now = [this](int sig) {
    spdlog::warn("second {}: killing every service now", core::signal_name(sig));
    for (const auto& svc : supervisor->services())
      for (const auto& i : svc->instances())
        if (i->pid() > 0) core::signal_group(i->pid(), SIGKILL);
    exit_code = 1;
  };
  actions.reopen_logs = [this] {
    // meshd's own log is stderr: whoever redirects it owns that file.
    if (!access_log)
      return spdlog::info("SIGUSR1: no access log to reopen (mesh.access_log is off)");
    spdlog::info("SIGUSR1: reopening the access log {}", access_log->path());
    access_log->reopen();
  };
  signals = std::make_unique<SignalHandler>(io, std::move(actions));
}

void Daemon::State::announce_start() {
  events->publish("daemon.start", "", "",
                  "meshd " + std::string(kVersion) + " started with " +
                      std::to_string(config->services.size()) + " services",
                  {{"listen", api_address.to_string()}, {"environment", config->environment}});
}

}  // namespace meshd::daemon
