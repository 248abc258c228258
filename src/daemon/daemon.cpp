#include "meshd/daemon/daemon.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "meshd/api/config_control.hpp"
#include "meshd/api/declared_tests.hpp"
#include "meshd/api/http_server.hpp"
#include "meshd/api/openapi.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/api/static_files.hpp"
#include "meshd/breaker/breaker_state.hpp"
#include "meshd/core/asio_scheduler.hpp"
#include "meshd/core/child_reaper.hpp"
#include "meshd/core/process.hpp"
#include "meshd/daemon/config_reloader.hpp"
#include "meshd/daemon/logging.hpp"
#include "meshd/daemon/readiness.hpp"
#include "meshd/daemon/registry_sync.hpp"
#include "meshd/daemon/stream_wiring.hpp"
#include "meshd/registry/instance_store.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/daemon/version.hpp"
#include "meshd/gateway/gateway.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/os_process_launcher.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::daemon {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct Daemon::State {
  std::shared_ptr<const config::Config> config;
  asio::io_context io{1};
  core::SystemTimeSource clock;
  std::unique_ptr<core::AsioScheduler> scheduler;
  std::unique_ptr<core::ChildReaper> reaper;
  std::unique_ptr<store::Database> database;
  std::unique_ptr<core::EventBus> events;
  std::unique_ptr<supervisor::OsProcessLauncher> launcher;
  std::unique_ptr<supervisor::Supervisor> supervisor;
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<registry::InstanceStore> instance_store;
  std::unique_ptr<registry::Registrations> registrations;
  std::unique_ptr<gateway::RouteTable> routes;
  std::unique_ptr<gateway::Gateway> gateway;
  std::unique_ptr<api::DeclaredTests> tests;
  api::Router router;
  api::ApiContext api_context;
  std::unique_ptr<api::ConfigControl> config_control;  // over the reloader
  std::unique_ptr<api::HttpServer> http;
  std::unique_ptr<StreamWiring> streams;  // GET /ws
  std::unique_ptr<ConfigReloader> reloader;
  // Routes of services a reload removed, kept until their instances have
  // drained (in-flight requests are counted there).
  std::map<std::string, std::shared_ptr<gateway::ServiceRoute>> retired_routes;
  std::unique_ptr<asio::signal_set> signals;
  std::mt19937_64 rng{std::random_device{}()};
  int lock_fd = -1;
  int exit_code = 0;
  int stop_signals = 0;

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

namespace {

// One meshd per data_dir: two would fight over the database and the ports.
int lock_data_dir(const fs::path& dir) {
  auto path = dir / "meshd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw std::runtime_error("another meshd is already using data_dir " + dir.string());
  }
  return fd;
}

// A port no one listens on now, for a replacement instance whose fixed
// port is still held by the instance it replaces.
std::optional<std::uint16_t> free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  std::optional<std::uint16_t> port;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// The config routes' api::ConfigControl, done by the ConfigReloader, whose
// methods it names one for one.
class ReloaderControl final : public api::ConfigControl {
 public:
  explicit ReloaderControl(ConfigReloader& reloader) : reloader_(reloader) {}
  void reload_file(const std::string& trigger, bool wait, Done done) override {
    reloader_.reload_file(trigger, wait, std::move(done));
  }
  void reload_body(const std::string& body, const std::string& content_type, bool wait, Done done) override {
    reloader_.reload_body(body, content_type, wait, std::move(done));
  }
  void rollback_to(std::int64_t version, bool wait, Done done) override {
    reloader_.rollback_to(version, wait, std::move(done));
  }
  nlohmann::json status() const override { return reloader_.status(); }
  nlohmann::json history(int limit) const override { return reloader_.history(limit); }

 private:
  ConfigReloader& reloader_;
};

void write_file_atomically(const fs::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, path);
}

}  // namespace

int Daemon::run() {
  auto cfg = std::make_shared<const config::Config>(load_effective_config(options_));
  setup_logging(cfg->mesh.log_level, cfg->mesh.log_format);

  state_ = std::make_unique<State>();
  State& s = *state_;
  s.config = cfg;

  fs::path data_dir = fs::absolute(cfg->mesh.data_dir).lexically_normal();
  std::error_code ec;
  fs::create_directories(data_dir / "logs", ec);
  if (ec) throw std::runtime_error("cannot create data_dir " + data_dir.string() + ": " + ec.message());
  s.lock_fd = lock_data_dir(data_dir);

  s.database = store::Database::open((data_dir / "meshd.db").string());
  s.scheduler = std::make_unique<core::AsioScheduler>(s.io, s.clock);
  s.reaper = std::make_unique<core::ChildReaper>(s.io);
  s.events = std::make_unique<core::EventBus>(s.clock, s.database->last_event_seq());
  s.events->subscribe([&s](const core::Event& e) {
    s.database->append_event(store::EventRecord{e.seq, core::to_unix_ms(e.time), e.type, e.service, e.instance,
                                                e.message, e.data.dump()});
    if (e.type == "health.transition" || e.type == "instance.state") spdlog::info("{}", e.message);
    else spdlog::info("[{}] {}", e.type, e.message);
  });

  std::int64_t config_version = 1;
  {
    std::ifstream in(cfg->source_path);
    std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto history = s.database->config_history(1);
    config_version = history.empty() ? 1 : history.front().version + 1;
    s.database->append_config(
        store::ConfigVersion{config_version, core::to_unix_ms(s.clock.wall_now()), source, "startup"});
  }

  s.launcher = std::make_unique<supervisor::OsProcessLauncher>(*s.reaper, (data_dir / "logs").string(), s.clock);
  supervisor::InstanceDeps deps;
  deps.scheduler = s.scheduler.get();
  deps.launcher = s.launcher.get();
  deps.make_prober = [&s](const health::ProbeTarget& target) { return health::make_prober(health::ProbeEnv{s.io, *s.reaper, *s.scheduler}, target); };
  deps.make_readiness_channel = [&s](const std::string& name, std::function<void()> on_ready) {
    return make_notify_channel(s.io, name, std::move(on_ready));
  };
  deps.random01 = [&s] { return std::uniform_real_distribution<double>(0.0, 1.0)(s.rng); };
  deps.in_flight = [&s](const std::string& id) {
    if (!s.routes) return 0;
    // "api-0", or "api-0.2" for a replacement made by a reload.
    std::string service = id.substr(0, id.rfind('-'));
    auto route = s.routes->find(service);
    if (!route)
      if (auto it = s.retired_routes.find(service); it != s.retired_routes.end()) route = it->second;
    auto host = route ? route->host(id) : nullptr;
    return host ? host->active_requests : 0;
  };
  deps.free_port = free_loopback_port;
  deps.base_env = core::current_environment();
  deps.base_dir = fs::current_path().string();
  s.supervisor = std::make_unique<supervisor::Supervisor>(deps, *s.events, cfg);

  // The registry: every instance, whatever its origin, with overrides and
  // registrations restored from the database.
  s.registry = std::make_unique<registry::Registry>();
  std::vector<std::string> names;
  for (const auto& svc : cfg->services) names.push_back(svc.name);
  s.registry->set_services(names);
  s.instance_store = registry::make_sqlite_instance_store(*s.database);
  for (const auto& [id, text] : s.instance_store->load_overrides()) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    s.registry->set_overrides(id, registry::Overrides{j.value("drain", false), j.value("maintenance", false),
                                                      j.value("note", std::string())});
  }
  for (const auto& svc : s.supervisor->services()) sync_service(*s.registry, *svc);
  s.supervisor->on_change = [&s](const supervisor::Service& svc) { sync_service(*s.registry, svc); };
  s.supervisor->on_services_changed = [&s] {
    std::vector<std::string> now;
    for (const auto& svc : s.supervisor->services()) now.push_back(svc->name());
    s.registry->set_services(now);
    for (const auto& svc : s.supervisor->services()) sync_service(*s.registry, *svc);
  };
  s.supervisor->on_service_added = [&s](supervisor::Service& svc) {
    if (s.streams) s.streams->attach_logs(svc);
  };
  s.registrations = std::make_unique<registry::Registrations>(
      *s.registry, *s.instance_store, *s.events,
      [&s, deps](const health::ProbeTarget& target, health::HealthChecker::OnChange on_change) {
        return std::make_unique<health::HealthChecker>(*s.scheduler, target.spec,
                                                       health::make_prober(health::ProbeEnv{s.io, *s.reaper, *s.scheduler}, target), deps.random01,
                                                       std::move(on_change));
      },
      s.clock);
  s.registrations->restore();

  // The data path's routing state follows the registry.
  s.routes = std::make_unique<gateway::RouteTable>(s.events.get(), std::random_device{}());
  s.routes->set_config(cfg);
  for (const auto& [name, route] : s.routes->routes()) route->update(*s.registry, s.clock.now());
  s.registry->add_listener([&s](const std::string& service) {
    if (auto route = s.routes->find(service)) route->update(*s.registry, s.clock.now());
  });

  s.api_context.supervisor = s.supervisor.get();
  s.api_context.events = s.events.get();
  s.api_context.database = s.database.get();
  s.api_context.config = cfg;
  s.api_context.version = kVersion;
  s.api_context.registry = s.registry.get();
  s.api_context.registrations = s.registrations.get();
  s.api_context.instance_store = s.instance_store.get();
  s.api_context.scheduler = s.scheduler.get();
  s.api_context.routes = s.routes.get();
  s.tests = std::make_unique<api::DeclaredTests>(s.clock, *s.events);
  api::register_routes(s.router, s.api_context, *s.tests);
  auto discovery = api::register_registry_routes(s.router, s.api_context, deps.random01);
  api::register_traffic_routes(s.router, s.api_context);
  api::register_metrics_route(s.router, s.api_context,
                              {discovery, [&s] { return s.streams ? s.streams->hub().clients() : std::size_t{0}; }});
  api::register_dashboard_routes(s.router);
  api::register_openapi_routes(s.router, kVersion);
  api::HttpServerOptions http_options;
  http_options.cors_origins = cfg->mesh.cors_origins;
  s.http = std::make_unique<api::HttpServer>(s.io, s.router, http_options);
  StreamWiringOptions stream_options;
  if (options_.ws_idle_timeout) stream_options.websocket.idle_timeout = *options_.ws_idle_timeout;
  s.streams = std::make_unique<StreamWiring>(s.io, s.clock, s.api_context, stream_options);
  s.http->set_upgrade(s.streams->upgrade());
  // The "metrics" topic: last second's rate, errors and latency per service.
  s.streams->set_metrics_summary([&s] {
    nlohmann::json services = nlohmann::json::object();
    double total_rps = 0, total_errors = 0, p99 = 0;
    for (const auto& [name, route] : s.routes->routes()) {
      auto sum = route->stats().last_second(s.clock.now());
      services[name] = {{"rps", sum.rps}, {"error_rate", sum.error_rate}, {"p99_ms", sum.p99_ms}};
      total_rps += sum.rps;
      total_errors += sum.error_rate * sum.rps;
      p99 = std::max(p99, sum.p99_ms);
    }
    return nlohmann::json{{"services", services},
                          {"gateway", {{"rps", total_rps},
                                       {"error_rate", total_rps > 0 ? total_errors / total_rps : 0.0},
                                       {"p99_ms", p99}}}};
  });
  s.streams->set_breakers([&s] {
    nlohmann::json list = nlohmann::json::array();
    auto now = s.clock.now();
    for (const auto& [name, route] : s.routes->routes())
      for (const auto& id : route->host_ids())
        list.push_back({{"service", name}, {"instance", id}, {"state", breaker::to_string(route->breaker(id)->state(now))}});
    return nlohmann::json{{"breakers", list}};
  });
  auto bound = s.http->listen(cfg->mesh.listen);
  write_file_atomically(data_dir / "listen", bound.to_string() + "\n");
  bool loopback = bound.host.rfind("127.", 0) == 0 || bound.host == "::1";
  spdlog::info("meshd {} listening on http://{} ({}), data_dir {}", kVersion, bound.to_string(),
               loopback ? "loopback only" : "reachable from the network", data_dir.string());
  if (!loopback && cfg->mesh.api_token.empty())
    spdlog::warn("listening on {} without mesh.api_token: anyone who can reach it can stop your services",
                 bound.to_string());
  if (cfg->mesh.gateway) {
    s.gateway = std::make_unique<gateway::Gateway>(s.io, *s.routes, s.clock, deps.random01);
    auto gw = s.gateway->listen(*cfg->mesh.gateway);
    write_file_atomically(data_dir / "gateway", gw.to_string() + "\n");
    spdlog::info("gateway listening on http://{} (http://{}/<service>/<path>)", gw.to_string(), gw.to_string());
    s.tests->use_gateway(s.io, gw);
  } else {
    std::error_code ignored;
    fs::remove(data_dir / "gateway", ignored);
    spdlog::info("no mesh.gateway: the data path is off (resolve/report still work)");
  }

  // Reloads (SPEC 6): SIGHUP, the API, /admin/config, and --dev's file watch.
  ConfigReloader::Hooks hooks;
  hooks.begin = [&s](const std::shared_ptr<const config::Config>& next, const config::ConfigDiff& diff) {
    for (const auto& d : diff.services)
      if (d.change == config::ServiceChange::removed)
        if (auto route = s.routes->find(d.name)) s.retired_routes[d.name] = route;
    s.api_context.config = next;
    s.routes->set_config(next);
    for (const auto& [name, route] : s.routes->routes()) route->update(*s.registry, s.clock.now());
    spdlog::set_level(spdlog::level::from_str(next->mesh.log_level));
  };
  hooks.finished = [&s](const std::shared_ptr<const config::Config>& running) {
    s.config = running;
    s.api_context.config = running;
    s.routes->set_config(running);
    for (const auto& [name, route] : s.routes->routes()) route->update(*s.registry, s.clock.now());
    s.retired_routes.clear();
    spdlog::set_level(spdlog::level::from_str(running->mesh.log_level));
  };
  s.reloader = std::make_unique<ConfigReloader>(s.io, s.clock, options_, *s.supervisor, *s.database, *s.events, cfg,
                                                config_version, std::move(hooks));
  s.config_control = std::make_unique<ReloaderControl>(*s.reloader);
  api::register_config_routes(s.router, s.api_context, *s.config_control);
  if (options_.dev) s.reloader->watch_file();

  s.signals = std::make_unique<asio::signal_set>(s.io, SIGTERM, SIGINT, SIGHUP);
  ::signal(SIGPIPE, SIG_IGN);
  std::function<void()> wait_signal;
  wait_signal = [&s, &wait_signal] {
    s.signals->async_wait([&s, &wait_signal](const boost::system::error_code& e, int sig) {
      if (e) return;
      if (sig == SIGHUP) {
        if (s.stop_signals == 0) {
          spdlog::info("SIGHUP: reloading {}", s.config->source_path);
          s.reloader->reload_in_background("SIGHUP");
        }
      } else if (++s.stop_signals == 1) {
        spdlog::info("{}: shutting down gracefully (send it again to kill everything now)", core::signal_name(sig));
        if (s.gateway) s.gateway->stop();
        s.supervisor->shutdown([&s] {
          spdlog::info("all services stopped; exiting");
          s.http->stop();
          s.io.stop();
        });
      } else {
        spdlog::warn("second {}: killing every service now", core::signal_name(sig));
        for (const auto& svc : s.supervisor->services())
          for (const auto& i : svc->instances())
            if (i->pid() > 0) core::signal_group(i->pid(), SIGKILL);
        s.exit_code = 1;
      }
      wait_signal();
    });
  };
  wait_signal();

  s.events->publish("daemon.start", "", "", "meshd " + std::string(kVersion) + " started with " +
                                                 std::to_string(cfg->services.size()) + " services",
                    {{"listen", bound.to_string()}, {"environment", cfg->environment}});
  s.supervisor->start_all();
  s.io.run();
  int code = s.exit_code;
  state_.reset();
  return code;
}

}  // namespace meshd::daemon
