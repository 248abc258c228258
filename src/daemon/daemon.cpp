#include "daemon.hpp"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "meshd/api/http_server.hpp"
#include "meshd/api/openapi.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/static_files.hpp"
#include "meshd/api/test_runner.hpp"
#include "meshd/core/asio_scheduler.hpp"
#include "meshd/core/child_reaper.hpp"
#include "meshd/core/process.hpp"
#include "meshd/gateway/gateway.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/registry/instance_store.hpp"
#include "meshd/registry/overrides_codec.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/os_process_launcher.hpp"
#include "meshd/supervisor/supervisor.hpp"
#include "config_reloader.hpp"
#include "data_dir.hpp"
#include "free_port.hpp"
#include "logging.hpp"
#include "readiness.hpp"
#include "registry_sync.hpp"
#include "signals.hpp"
#include "stream_wiring.hpp"
#include "traffic_views.hpp"
#include "version.hpp"

namespace meshd::daemon {

namespace fs = std::filesystem;

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
  void start_gateway();
  void start_reloader();
  void handle_signals();
  void announce_start();
  /// The running config changed (a reload began or finished): the data
  /// path's routes and the log level follow it.
  void follow_config(const std::shared_ptr<const config::Config>& next);

  RunOptions options;
  std::shared_ptr<const config::Config> config;
  fs::path data_dir;
  boost::asio::io_context io{1};
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
  std::unique_ptr<registry::InstanceStore> instance_store;
  std::unique_ptr<registry::Registrations> registrations;
  std::unique_ptr<gateway::RouteTable> routes;
  // Routes of services a reload removed, kept until their instances have
  // drained (in-flight requests are counted there).
  std::map<std::string, std::shared_ptr<gateway::ServiceRoute>> retired_routes;
  std::unique_ptr<gateway::Gateway> gateway;
  std::unique_ptr<api::TestRunner> tests;
  api::Router router;
  api::ApiContext api_context;
  // What the API shows as the config: set by build_api, called by reloads.
  std::function<void(const std::shared_ptr<const config::Config>&)> api_follows_config;
  std::unique_ptr<api::HttpServer> http;
  config::Endpoint api_address;  // where the API listens (port 0 resolved)
  std::unique_ptr<StreamWiring> streams;  // GET /ws
  std::unique_ptr<ConfigReloader> reloader;
  std::unique_ptr<SignalHandler> signals;
  int lock_fd = -1;
  int exit_code = 0;

  ~State() {
    // Order matters: the HTTP server and the supervisor (which kills any
    // process group still alive) go before the launcher's log thread.
    reloader.reset();
    http.reset();
    gateway.reset();
    registrations.reset();
    supervisor.reset();
    launcher.reset();
    if (database) database->flush();
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

Daemon::Daemon(RunOptions options) : options_(std::move(options)) {}
Daemon::~Daemon() = default;

int Daemon::run() {
  auto cfg = std::make_shared<const config::Config>(load_effective_config(options_));
  setup_logging(cfg->mesh.log_level, cfg->mesh.log_format);
  state_ = std::make_unique<State>(options_, cfg);
  State& s = *state_;
  s.open_data_dir();
  s.open_store();
  s.start_supervisor();
  s.build_registry();
  s.build_routes();
  s.build_api();
  s.start_streams();
  s.listen_api();
  s.start_gateway();
  s.start_reloader();
  s.handle_signals();
  s.announce_start();
  s.supervisor->start_all();
  s.io.run();
  int code = s.exit_code;
  state_.reset();
  return code;
}

void Daemon::State::open_data_dir() {
  data_dir = fs::absolute(config->mesh.data_dir).lexically_normal();
  create_data_dir(data_dir);
  lock_fd = lock_data_dir(data_dir);
}

// The database, and the event bus that writes every event into it and the
// log; the config this meshd starts with becomes the newest version.
void Daemon::State::open_store() {
  database = store::Database::open((data_dir / "meshd.db").string());
  scheduler = std::make_unique<core::AsioScheduler>(io, clock);
  reaper = std::make_unique<core::ChildReaper>(io);
  events = std::make_unique<core::EventBus>(clock, database->last_event_seq());
  events->subscribe([this](const core::Event& e) {
    database->append_event(store::EventRecord{e.seq, core::to_unix_ms(e.time), e.type, e.service, e.instance,
                                              e.message, e.data.dump()});
    if (e.type == "health.transition" || e.type == "instance.state") spdlog::info("{}", e.message);
    else spdlog::info("[{}] {}", e.type, e.message);
  });
  std::ifstream in(config->source_path);
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto history = database->config_history(1);
  config_version = history.empty() ? 1 : history.front().version + 1;
  database->append_config(store::ConfigVersion{config_version, core::to_unix_ms(clock.wall_now()), source, "startup"});
}

void Daemon::State::start_supervisor() {
  launcher = std::make_unique<supervisor::OsProcessLauncher>(*reaper, (data_dir / "logs").string(), clock);
  random01 = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); };
  supervisor::InstanceDeps deps;
  deps.scheduler = scheduler.get();
  deps.launcher = launcher.get();
  deps.make_prober = [this](const health::ProbeTarget& target) { return health::make_prober(io, *reaper, target); };
  deps.make_readiness_channel = [this](const std::string& name, std::function<void()> on_ready) {
    return make_notify_channel(io, name, std::move(on_ready));
  };
  deps.random01 = random01;
  deps.in_flight = [this](const std::string& id) {
    if (!routes) return 0;
    // "api-0", or "api-0.2" for a replacement made by a reload.
    std::string service = id.substr(0, id.rfind('-'));
    auto route = routes->find(service);
    if (!route)
      if (auto it = retired_routes.find(service); it != retired_routes.end()) route = it->second;
    auto host = route ? route->host(id) : nullptr;
    return host ? host->active_requests : 0;
  };
  deps.free_port = free_loopback_port;
  deps.base_env = core::current_environment();
  deps.base_dir = fs::current_path().string();
  supervisor = std::make_unique<supervisor::Supervisor>(deps, *events, config);
}

// The registry: every instance, whatever its origin, with overrides and
// registrations restored from the database; it follows the supervisor.
void Daemon::State::build_registry() {
  registry = std::make_unique<registry::Registry>();
  instance_store = registry::make_sqlite_instance_store(*database);
  for (const auto& [id, text] : instance_store->load_overrides())
    if (auto overrides = registry::decode_overrides(text)) registry->set_overrides(id, *overrides);
  supervisor::Supervisor::Listener follow;
  follow.services_changed = [this] {
    std::vector<std::string> names;
    for (const auto& svc : supervisor->services()) names.push_back(svc->name());
    registry->set_services(names);
    for (const auto& svc : supervisor->services()) sync_service(*registry, *svc);
  };
  follow.changed = [this](const supervisor::Service& svc) { sync_service(*registry, svc); };
  registry_follows_supervisor = supervisor->subscribe(std::move(follow));
  registrations = std::make_unique<registry::Registrations>(
      *registry, *instance_store, *events,
      [this](const health::ProbeTarget& target, health::HealthChecker::OnChange on_change) {
        return std::make_unique<health::HealthChecker>(*scheduler, target.spec, health::make_prober(io, *reaper, target),
                                                       random01, std::move(on_change));
      },
      clock);
  registrations->restore();
}

// The data path's routing state follows the registry.
void Daemon::State::build_routes() {
  routes = std::make_unique<gateway::RouteTable>(events.get(), std::random_device{}());
  routes->set_config(config);
  for (const auto& [name, route] : routes->routes()) route->update(*registry, clock.now());
  registry->add_listener([this](const std::string& service) {
    if (auto route = routes->find(service)) route->update(*registry, clock.now());
  });
}

// Every field of the API's context and every route, in one place: the
// routes reach the rest of meshd only through what is set here.
void Daemon::State::build_api() {
  api_context.supervisor = supervisor.get();
  api_context.events = events.get();
  api_context.database = database.get();
  api_context.config = config;
  api_context.version = kVersion;
  api_context.registry = registry.get();
  api_context.registrations = registrations.get();
  api_context.instance_store = instance_store.get();
  api_context.scheduler = scheduler.get();
  api_context.random01 = random01;
  api_context.routes = routes.get();
  api_context.websocket_clients = [this] { return streams ? streams->hub().clients() : std::size_t{0}; };
  if (config->mesh.gateway)
    api_context.run_tests = [this](std::function<void(nlohmann::json)> done) {
      auto started = clock.wall_now();
      tests->run(*config, [this, started, done = std::move(done)](std::vector<api::TestResult> results) {
        nlohmann::json list = nlohmann::json::array();
        int passed = 0;
        for (const auto& r : results) {
          list.push_back(r.to_json());
          passed += r.passed;
        }
        int failed = static_cast<int>(results.size()) - passed;
        events->publish("tests.run", "", "", "declared tests: " + std::to_string(passed) + " passed, " +
                                                 std::to_string(failed) + " failed",
                        {{"passed", passed}, {"failed", failed}});
        done({{"ran", true}, {"started_ms", core::to_unix_ms(started)}, {"passed", passed}, {"failed", failed},
              {"results", list}});
      });
    };
  auto& control = api_context.config_control;
  control.reload_file = [this](bool wait, api::ApiContext::ConfigControl::Done done) {
    reloader->reload_file("POST /api/v1/config/reload", wait, std::move(done));
  };
  control.reload_body = [this](const std::string& body, const std::string& type, bool wait,
                               api::ApiContext::ConfigControl::Done done) {
    reloader->reload_body(body, type, wait, std::move(done));
  };
  control.rollback_to = [this](std::int64_t version, bool wait, api::ApiContext::ConfigControl::Done done) {
    reloader->rollback_to(version, wait, std::move(done));
  };
  control.status = [this] { return reloader->status(); };
  control.history = [this](int limit) { return reloader->history(limit); };
  api_follows_config = [this](const std::shared_ptr<const config::Config>& next) { api_context.config = next; };
  api::register_routes(router, api_context);
  api::register_registry_routes(router, api_context);
  api::register_traffic_routes(router, api_context);
  api::register_metrics_route(router, api_context);
  api::register_config_routes(router, api_context);
  api::register_dashboard_routes(router);
  api::register_openapi_routes(router, kVersion);
  api::HttpServerOptions http_options;
  http_options.cors_origins = config->mesh.cors_origins;
  http = std::make_unique<api::HttpServer>(io, router, http_options);
}

// GET /ws: services, health, events, logs, breakers and metrics, live.
void Daemon::State::start_streams() {
  auto post = [this](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); };
  streams = std::make_unique<StreamWiring>(*scheduler, post, api_context);
  http->set_upgrade(streams->upgrade());
  streams->set_metrics_summary([this] { return metrics_summary(*routes, clock.now()); });
  streams->set_breakers([this] { return breakers_view(*routes, clock.now()); });
}

void Daemon::State::listen_api() {
  api_address = http->listen(config->mesh.listen);
  write_file_atomically(data_dir / "listen", api_address.to_string() + "\n");
  bool loopback = api_address.host.rfind("127.", 0) == 0 || api_address.host == "::1";
  spdlog::info("meshd {} listening on http://{} ({}), data_dir {}", kVersion, api_address.to_string(),
               loopback ? "loopback only" : "reachable from the network", data_dir.string());
  if (!loopback && config->mesh.api_token.empty())
    spdlog::warn("listening on {} without mesh.api_token: anyone who can reach it can stop your services",
                 api_address.to_string());
}

void Daemon::State::start_gateway() {
  if (!config->mesh.gateway) {
    std::error_code ignored;
    fs::remove(data_dir / "gateway", ignored);
    spdlog::info("no mesh.gateway: the data path is off (resolve/report still work)");
    return;
  }
  gateway = std::make_unique<gateway::Gateway>(io, *routes, clock, random01);
  auto bound = gateway->listen(*config->mesh.gateway);
  write_file_atomically(data_dir / "gateway", bound.to_string() + "\n");
  spdlog::info("gateway listening on http://{} (http://{}/<service>/<path>)", bound.to_string(), bound.to_string());
  tests = std::make_unique<api::TestRunner>(io, bound);
}

void Daemon::State::follow_config(const std::shared_ptr<const config::Config>& next) {
  api_follows_config(next);
  routes->set_config(next);
  for (const auto& [name, route] : routes->routes()) route->update(*registry, clock.now());
  spdlog::set_level(spdlog::level::from_str(next->mesh.log_level));
}

// Reloads (SPEC 6): SIGHUP, the API, /admin/config, and --dev's file watch.
void Daemon::State::start_reloader() {
  ConfigReloader::Hooks hooks;
  hooks.begin = [this](const std::shared_ptr<const config::Config>& next, const config::ConfigDiff& diff) {
    for (const auto& d : diff.services)
      if (d.change == config::ServiceChange::removed)
        if (auto route = routes->find(d.name)) retired_routes[d.name] = route;
    follow_config(next);
  };
  hooks.finished = [this](const std::shared_ptr<const config::Config>& running) {
    config = running;
    follow_config(running);
    retired_routes.clear();
  };
  reloader = std::make_unique<ConfigReloader>(*scheduler, options, *supervisor, *database, *events, config,
                                              config_version, std::move(hooks));
  if (options.dev) reloader->watch_file();
}

void Daemon::State::handle_signals() {
  SignalActions actions;
  actions.reload = [this] {
    spdlog::info("SIGHUP: reloading {}", config->source_path);
    reloader->reload_in_background("SIGHUP");
  };
  actions.shut_down = [this](int sig) {
    spdlog::info("{}: shutting down gracefully (send it again to kill everything now)", core::signal_name(sig));
    if (gateway) gateway->stop();
    supervisor->shutdown([this] {
      spdlog::info("all services stopped; exiting");
      http->stop();
      io.stop();
    });
  };
  actions.kill_now = [this](int sig) {
    spdlog::warn("second {}: killing every service now", core::signal_name(sig));
    for (const auto& svc : supervisor->services())
      for (const auto& i : svc->instances())
        if (i->pid() > 0) core::signal_group(i->pid(), SIGKILL);
    exit_code = 1;
  };
  signals = std::make_unique<SignalHandler>(io, std::move(actions));
}

void Daemon::State::announce_start() {
  events->publish("daemon.start", "", "", "meshd " + std::string(kVersion) + " started with " +
                                              std::to_string(config->services.size()) + " services",
                  {{"listen", api_address.to_string()}, {"environment", config->environment}});
}

}  // namespace meshd::daemon
