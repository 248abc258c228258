#include "daemon.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "daemon_state.hpp"
#include "data_dir.hpp"
#include "free_port.hpp"
#include "logging.hpp"
#include "meshd/core/process.hpp"
#include "meshd/registry/overrides_codec.hpp"
#include "node_identity.hpp"
#include "readiness.hpp"
#include "registry_sync.hpp"

namespace meshd::daemon {

namespace fs = std::filesystem;

Daemon::State::~State() {
  // First the handlers still queued on the control loop (it has stopped,
  // or never ran): they own health probes, sessions and requests that reach
  // the scheduler, the registry and the routes, so they are destroyed while
  // all of that lives, not with the loop after it is gone (control_loop.hpp).
  io.destroy_pending_handlers();
  // Order matters: the HTTP server and the supervisor (which kills any
  // process group still alive) go before the launcher's log thread.
  reloader.reset();
  http.reset();
  gateway.reset();
  singletons.reset();
  catalog_sync.reset();
  registrations.reset();
  catalog.reset();
  supervisor.reset();
  launcher.reset();
  // And whatever the teardown above queued, before the scheduler goes.
  io.destroy_pending_handlers();
  if (database) database->flush();
  if (lock_fd >= 0) ::close(lock_fd);
}

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
  // Early: a SIGTERM while meshd still starts (it may wait for etcd) is a
  // graceful shutdown too, never the default action.
  s.handle_signals();
  s.build_registry();
  s.build_routes();
  s.build_api();
  s.start_streams();
  s.listen_api();
  s.join_catalog();
  s.await_first_join();
  if (s.exit_code != 0) {  // refused (its name is held): nothing more starts
    state_.reset();
    return 1;
  }
  s.start_gateway();
  s.start_reloader();
  s.announce_start();
  if (s.exit_code == 0 && !s.supervisor->shutting_down()) s.supervisor->start_all();
  if (s.exit_code == 0) s.io.run();
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
    database->append_event(store::EventRecord{e.seq, core::to_unix_ms(e.time), e.type, e.service,
                                              e.instance, e.message, e.data.dump()});
    if (e.type == "health.transition" || e.type == "instance.state")
      spdlog::info("{}", e.message);
    else
      spdlog::info("[{}] {}", e.type, e.message);
  });
  std::ifstream in(config->source_path);
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto history = database->config_history(1);
  config_version = history.empty() ? 1 : history.front().version + 1;
  database->append_config(
      store::ConfigVersion{config_version, core::to_unix_ms(clock.wall_now()), source, "startup"});
}

void Daemon::State::start_supervisor() {
  launcher =
      std::make_unique<supervisor::OsProcessLauncher>(*reaper, (data_dir / "logs").string(), clock);
  random01 = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); };
  supervisor::InstanceDeps deps;
  deps.scheduler = scheduler.get();
  deps.launcher = launcher.get();
  deps.make_prober = [this](const health::ProbeTarget& target) {
    return health::make_prober(health::ProbeEnv{io, *reaper, *scheduler}, target);
  };
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
    // Counted on the control loop and, with gateway threads, on each of them.
    return route ? route->in_flight(id) : 0;
  };
  deps.free_port = free_loopback_port;
  // A dependency on a service that runs on another node (placement) is
  // met by that node's instances.
  deps.met_elsewhere = [this](const std::string& service, config::DependencyCondition condition) {
    if (!registry || condition == config::DependencyCondition::completed) return false;
    for (const auto* r : registry->instances(service))
      if (!r->local() && (condition == config::DependencyCondition::started || r->healthy()))
        return true;
    return false;
  };
  deps.base_env = core::current_environment();
  deps.base_dir = fs::current_path().string();
  supervisor = std::make_unique<supervisor::Supervisor>(deps, *events, config);
}

// The registry: every instance, whatever its origin. It follows the
// supervisor (the file's services) and the catalog backend (registrations
// and overrides from meshd.db, or from etcd with other nodes' instances).
void Daemon::State::build_registry() {
  registry = std::make_unique<registry::Registry>();
  make_catalog();
  registry->set_node_name(catalog->node_name());
  registrations = std::make_unique<registry::Registrations>(
      *registry, *catalog, *events,
      [this](const health::ProbeTarget& target, health::HealthChecker::OnChange on_change) {
        return std::make_unique<health::HealthChecker>(
            *scheduler, target.spec,
            health::make_prober(health::ProbeEnv{io, *reaper, *scheduler}, target), random01,
            std::move(on_change));
      },
      clock);
  catalog_sync = std::make_unique<CatalogSync>(*catalog, *registry, *registrations, *events);
  supervisor::Supervisor::Listener follow;
  follow.services_changed = [this] {
    std::vector<std::string> names;
    for (const auto& svc : supervisor->services()) names.push_back(svc->name());
    catalog_sync->set_declared(names);
    for (const auto& svc : supervisor->services()) sync_service(*registry, *svc);
  };
  follow.changed = [this](const supervisor::Service& svc) { sync_service(*registry, svc); };
  registry_follows_supervisor = supervisor->subscribe(std::move(follow));
}

// The data path's routing state follows the registry.
void Daemon::State::build_routes() {
  routes = std::make_unique<gateway::RouteTable>(events.get(), std::random_device{}());
  routes->set_config(catalog_sync->routing_config(config));
  for (const auto& [name, route] : routes->routes()) route->update(*registry, clock.now());
  registry->add_listener([this](const std::string& service) {
    if (auto route = routes->find(service)) route->update(*registry, clock.now());
  });
}

// The catalog's shared part: registrations and overrides come back, and
// in a cluster this node joins (publishes itself, follows the others).
void Daemon::State::join_catalog() {
  registry::NodeRecord self;
  self.name = catalog->node_name();
  self.address = advertise_address(*config);
  self.api_address = api_address.to_string();
  self.version = MESHD_VERSION;
  self.started_ms = core::to_unix_ms(clock.wall_now());
  catalog->set_self(self);
  CatalogSync::Hooks hooks;
  hooks.services_changed = [this] {
    routes->set_config(catalog_sync->routing_config(config));
    for (const auto& [name, route] : routes->routes()) route->update(*registry, clock.now());
  };
  hooks.nodes_changed = [this] {
    if (streams) streams->nodes_changed();
  };
  hooks.stale_changed = [this](bool) {
    if (streams) streams->nodes_changed();
  };
  hooks.remote_changed = [this] { supervisor->dependencies_changed(); };
  if (etcd) {
    singletons = std::make_unique<cluster::Singletons>(
        etcd->client(), *scheduler, *events, config->mesh.cluster.prefix, catalog->node_name(),
        [this](const std::string& service, bool run) {
          auto placed = supervisor->set_placed(service, run);
          if (!placed) spdlog::warn("singleton {}: {}", service, placed.error().message);
        });
    cluster::EtcdCatalog::LeaseHooks lease;
    lease.granted = [this](std::int64_t id) { singletons->granted(id); };
    lease.fenced = [this] { singletons->fenced(); };
    lease.renewed = [this] { singletons->renewed(); };
    etcd->set_lease_hooks(std::move(lease));
  }
  apply_placement(*config);
  catalog_sync->start(std::move(hooks));
}

}  // namespace meshd::daemon
