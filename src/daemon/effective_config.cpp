#include <charconv>
#include <set>
#include <stdexcept>

#include "daemon.hpp"
#include "meshd/config/cluster_checks.hpp"
#include "meshd/config/graph.hpp"
#include "meshd/config/loader.hpp"

namespace meshd::daemon {
namespace {

config::Endpoint parse_flag_endpoint(const std::string& flag, const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::runtime_error(flag + ": expected HOST:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535)
    throw std::runtime_error(flag + ": '" + port_text + "' is not a port (0-65535)");
  return config::Endpoint{host, static_cast<std::uint16_t>(port)};
}

// Loads with the overlay of `options`; --dev's implicit "dev" overlay is
// skipped when the file has none.
template <typename Load>
config::Config load_with_environment(const RunOptions& options, Load load) {
  config::LoadOptions opts;
  opts.environment = options.environment;
  try {
    return load(opts);
  } catch (const config::ConfigError& e) {
    if (!options.environment_optional || e.detail().rfind("unknown environment '", 0) != 0) throw;
    opts.environment.clear();
    return load(opts);
  }
}

}  // namespace

config::Config load_effective_config(const RunOptions& options) {
  return apply_run_flags(load_with_environment(options,
                                               [&](const config::LoadOptions& load) {
                                                 return config::load_file(options.config_path,
                                                                          load);
                                               }),
                         options);
}

config::Config load_config_text(const std::string& text, const std::string& source_name,
                                const RunOptions& options) {
  return apply_run_flags(load_with_environment(options,
                                               [&](const config::LoadOptions& load) {
                                                 return config::load_string(text, source_name,
                                                                            load);
                                               }),
                         options);
}

config::Config apply_run_flags(config::Config cfg, const RunOptions& options) {
  if (options.listen) cfg.mesh.listen = parse_flag_endpoint("--listen", *options.listen);
  if (options.gateway) {
    if (options.gateway->empty() || *options.gateway == "off")
      cfg.mesh.gateway.reset();
    else
      cfg.mesh.gateway = parse_flag_endpoint("--gateway", *options.gateway);
  }
  if (options.gateway_threads) cfg.mesh.gateway_threads = *options.gateway_threads;
  if (options.data_dir) cfg.mesh.data_dir = *options.data_dir;
  if (options.log_level) {
    static const std::set<std::string> levels = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
    if (!levels.count(*options.log_level))
      throw std::runtime_error("--log-level: '" + *options.log_level +
                               "' is not one of trace, debug, info, warn, error, critical, off");
    cfg.mesh.log_level = *options.log_level;
  }
  if (options.log_format) cfg.mesh.log_format = *options.log_format;
  // Held to the file's rules (config/cluster_checks.hpp).
  if (options.node) {
    if (auto why = config::node_name_problem(*options.node); !why.empty())
      throw std::runtime_error("--node: " + why);
    cfg.mesh.node = *options.node;
  }
  if (options.etcd) {
    for (const auto& url : *options.etcd)
      if (auto why = config::etcd_endpoint_problem(url); !why.empty())
        throw std::runtime_error("--etcd: " + why);
    cfg.mesh.cluster.etcd = *options.etcd;
    if (auto why = config::cluster_tls_problem(cfg.mesh.cluster); !why.empty())
      throw std::runtime_error("--etcd: " + why + " (mesh.cluster in " + cfg.source_path + ")");
  }
  if (!options.services.empty()) {
    for (const auto& name : options.services)
      if (!cfg.find(name))
        throw std::runtime_error("--service: the file has no service named '" + name + "'");
    cfg = config::select_services(cfg, config::dependency_closure(cfg, options.services));
  }
  return cfg;
}

}  // namespace meshd::daemon
