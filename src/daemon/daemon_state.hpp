#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "catalog_sync.hpp"
#include "config_reloader.hpp"
#include "control_loop.hpp"
#include "daemon.hpp"
#include "meshd/api/declared_tests.hpp"
#include "meshd/api/http_server.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/cluster/etcd_catalog.hpp"
#include "meshd/cluster/singletons.hpp"
#include "meshd/core/asio_scheduler.hpp"
#include "meshd/core/child_reaper.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/gateway/gateway.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/os_process_launcher.hpp"
#include "meshd/supervisor/supervisor.hpp"
#include "signals.hpp"
#include "stream_wiring.hpp"

namespace meshd::daemon {

// Every part of a running meshd, and the steps that build them, each from
// the parts before it (Daemon::run lists them in order).
struct Daemon::State {
  State(RunOptions run_options, std::shared_ptr<const config::Config> loaded)
      : options(std::move(run_options)), config(std::move(loaded)) {}

  void open_data_dir();
  void open_store();
  void start_supervisor();
  void build_registry();
  void build_routes();
  void build_api();
  void start_streams();
  void listen_api();
  void join_catalog();
  void await_first_join();
  /// Creates the catalog backend (SQLite, or etcd with mesh.cluster).
  void make_catalog();
  /// This node must not run (its name is held): logs `line`, stops, exits 1.
  void refuse(const std::string& line);
  /// Which of the file's services run on this node: those `placement.nodes`
  /// allows, a singleton only while this node is elected for it. Before a
  /// reload with the next config (its new services start placed right).
  void apply_placement(const config::Config& cfg);
  void start_gateway();
  void start_reloader();
  void handle_signals();
  void announce_start();
  /// The running config changed (a reload began or finished): the data
  /// path's routes and the log level follow it.
  void follow_config(const std::shared_ptr<const config::Config>& next);

  RunOptions options;
  std::shared_ptr<const config::Config> config;
  std::filesystem::path data_dir;
  ControlLoop io;  // its pending handlers are destroyed first (~State)
  core::SystemTimeSource clock;
  std::unique_ptr<core::AsioScheduler> scheduler;
  std::unique_ptr<core::ChildReaper> reaper;
  std::unique_ptr<store::Database> database;
  std::unique_ptr<core::EventBus> events;
  std::int64_t config_version = 1;
  std::mt19937_64 rng{std::random_device{}()};
  std::function<double()> random01;
  std::unique_ptr<supervisor::OsProcessLauncher> launcher;
  std::unique_ptr<supervisor::Supervisor> supervisor;
  std::unique_ptr<registry::Registry> registry;
  supervisor::Supervisor::Subscription registry_follows_supervisor;
  std::unique_ptr<registry::CatalogBackend> catalog;  // SQLite, or etcd in a cluster
  std::unique_ptr<registry::Registrations> registrations;
  std::unique_ptr<CatalogSync> catalog_sync;
  cluster::EtcdCatalog* etcd = nullptr;  // the catalog, when it is etcd's
  std::unique_ptr<cluster::Singletons> singletons;
  std::unique_ptr<gateway::RouteTable> routes;
  // Routes of services a reload removed, kept until their instances have
  // drained (in-flight requests are counted there).
  std::map<std::string, std::shared_ptr<gateway::ServiceRoute>> retired_routes;
  std::unique_ptr<gateway::Gateway> gateway;
  std::shared_ptr<gateway::AccessLog> access_log;  // the gateway's, for SIGUSR1; nullptr: off
  std::unique_ptr<api::DeclaredTests> tests;       // the file's tests:, run through the gateway
  api::Router router;
  api::ApiContext api_context;
  // What the API shows as the config: set by build_api, called by reloads.
  std::function<void(const std::shared_ptr<const config::Config>&)> api_follows_config;
  std::unique_ptr<api::HttpServer> http;
  config::Endpoint api_address;           // where the API listens (port 0 resolved)
  std::unique_ptr<StreamWiring> streams;  // GET /ws
  std::unique_ptr<ConfigReloader> reloader;
  std::unique_ptr<SignalHandler> signals;
  int lock_fd = -1;
  int exit_code = 0;

  /// Tears down in the order that keeps every part's dependencies alive.
  ~State();
};

}  // namespace meshd::daemon
