#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/supervisor/service.hpp"

namespace meshd::supervisor {

/// Runs the services of one config: starts each as soon as its
/// dependencies meet their conditions (so independent chains proceed in
/// parallel and a wave never waits for an unrelated slow service), keeps
/// them running, and stops them dependents-first.
///
/// Conditions: `started` is met once the dependency has a process (or has
/// completed), `healthy` once one of its instances passes its check,
/// `completed` once all its instances exited with code 0. A dependency
/// that failed (gave up, or can no longer meet the condition) blocks a
/// required dependent, which stays pending and says why; an optional
/// (`required: false`) dependent starts anyway.
class Supervisor final : public InstanceObserver {
 public:
  Supervisor(const InstanceDeps& deps, core::EventBus& events, std::shared_ptr<const config::Config> config);
  ~Supervisor() override;

  /// Starts every service of the config (in dependency order).
  void start_all();
  /// Operator requests. not_found for an unknown name; conflict while
  /// shutting down.
  core::Status start_service(const std::string& name);
  core::Status stop_service(const std::string& name);
  core::Status restart_service(const std::string& name);

  /// Stops everything, dependents before their dependencies, then calls
  /// `done` once every process is gone.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return shutting_down_; }

  const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
  Service* find(const std::string& name);
  const Service* find(const std::string& name) const;
  const config::Config& config() const { return *config_; }

  /// The root cause when a required dependency of `service` (with a
  /// healthy or started condition), or one of its own required
  /// dependencies, is not available: the deepest unavailable service down
  /// the chain. Empty when not degraded.
  std::optional<std::string> degraded_by(const Service& service) const;

  /// Called after any instance changed state or health (for live views).
  std::function<void(const Service&)> on_change;

 private:
  void on_instance_state(Instance& instance, ProcessState before) override;
  void on_instance_health(Instance& instance, health::HealthStatus before) override;
  void request_evaluate();
  void evaluate();
  void advance_shutdown();
  bool dependency_met(const config::Dependency& dep) const;
  bool dependency_failed(const config::Dependency& dep) const;
  void note_service_state(const Service& service);

  InstanceDeps deps_;
  core::EventBus& events_;
  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<Service>> services_;  // in start order
  std::map<std::string, ProcessState> last_state_;
  bool evaluate_pending_ = false;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace meshd::supervisor
