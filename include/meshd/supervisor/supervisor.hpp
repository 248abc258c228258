#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "meshd/config/diff.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/supervisor/service.hpp"

namespace meshd::supervisor {

class ServiceRollout;

/// What a reload did to one service.
struct ReloadOutcome {
  std::string service;
  config::ServiceChange change = config::ServiceChange::unchanged;
  /// "unchanged", "updated" (in place), "scaled", "started", "stopped",
  /// "replaced", "rolled_back" (reverted to its previous definition),
  /// "failed" (the rollout failed, auto_revert off: replicas already
  /// replaced keep the new definition), or "interrupted" (meshd shut down first).
  std::string result = "unchanged";
  std::string reason;               // for rolled_back and failed: why
  std::vector<std::string> fields;  // the keys that changed
};

struct ReloadReport {
  std::vector<ReloadOutcome> services;
  /// The config now running: the new one, with every rolled-back service
  /// on its previous definition.
  std::shared_ptr<const config::Config> running;
  bool rolled_back() const {
    for (const auto& s : services)
      if (s.result == "rolled_back") return true;
    return false;
  }
};

/// How long a replacement instance has to pass its check: its
/// health.start_period, or this when the period is 0.
inline constexpr core::Duration kDefaultRolloutGate{30000};

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
  Supervisor(const InstanceDeps& deps, core::EventBus& events,
             std::shared_ptr<const config::Config> config);
  ~Supervisor() override;

  /// Starts every service of the config (in dependency order).
  void start_all();
  /// Operator requests. not_found for an unknown name; conflict while
  /// shutting down.
  core::Status start_service(const std::string& name);
  core::Status stop_service(const std::string& name);
  /// A restart of a service that is serving is a rolling one: each
  /// replica is replaced by a new instance of the same definition through
  /// the rollout gate (its `rollout:` block), so no request is lost; a
  /// service that is not serving restarts all its instances at once.
  core::Status restart_service(const std::string& name);

  /// Canaries (docs/reload.md): lets a rollout that waits for promote go
  /// on and replace the remaining replicas. conflict when the service has
  /// no rollout waiting for promote; not_found for an unknown name.
  core::Status promote_rollout(const std::string& name);
  /// Ends the running rollout of `name` as the operator's choice: its new
  /// instances stop, the old ones (never touched) keep serving, replicas
  /// already replaced get the previous definition again, and the rollout
  /// ends `reverted` ("aborted by the operator"). conflict when no rollout
  /// of it runs.
  core::Status abort_rollout(const std::string& name);
  /// The service's last or running rollout with each replica's healthy_for
  /// filled in; nullopt for an unknown service.
  std::optional<RolloutStatus> rollout_status(const std::string& name) const;

  /// Applies a new, validated config (SPEC 6, docs/reload.md): added
  /// services start in dependency order; removed ones drain and stop,
  /// dependents first; a process-level change is a rolling replacement,
  /// one replica at a time, each new instance gated on its check and the
  /// whole service rolled back when one does not pass in time; replica
  /// counts add or remove replicas; everything else changes in place.
  /// Unchanged services keep their processes. `done` runs once all of it
  /// is finished (possibly seconds later). conflict while another reload
  /// runs or meshd is shutting down.
  core::Status reload(std::shared_ptr<const config::Config> next,
                      std::function<void(ReloadReport)> done);
  bool reloading() const { return reload_ != nullptr; }
  /// A reload or a rolling restart is running: another reload must wait.
  bool rolling() const { return reload_ != nullptr || !restarts_.empty(); }
  /// What runs, for a refused reload's message: "api: waiting for
  /// promote, web: queued, db: rolling restart, progressing".
  std::string rollouts_summary() const;

  /// Cluster placement (docs/cluster.md): whether this node runs `name`.
  /// A service that is not placed here runs no process: start_all and
  /// dependency-driven starts skip it, its instances show the state
  /// `elsewhere`, and start/restart requests are refused (conflict).
  /// Unplacing stops its instances gracefully (its shutdown spec), a
  /// rollout of it included; placing starts it as soon as its dependencies
  /// allow, as start_service would. Every service starts placed.
  ///
  /// Valid at any time, also before start_all and for a name the config
  /// does not have yet: the flag is kept for a service a later reload adds
  /// (so the daemon unplaces a new service before calling reload, or from
  /// Listener::added, which runs before any of its processes starts). A
  /// reload keeps the flag of a service it keeps; a removed service's flag
  /// is forgotten. Always ok.
  core::Status set_placed(const std::string& name, bool placed);
  bool placed(const std::string& name) const;
  /// Re-evaluates dependencies on services that are not placed here
  /// (InstanceDeps::met_elsewhere): the daemon calls it when the other
  /// nodes' instances change.
  void dependencies_changed();
  /// The services being rolled: the one a reload is replacing now, those
  /// it still will, and those under a rolling restart (for the API and for
  /// refusing commands on them). rollouts_summary() says the same in words.
  std::vector<std::string> rolling_services() const;

  /// What a subscriber hears about. Any hook may be empty.
  struct Listener {
    /// A service exists that this subscriber has not seen yet: at
    /// subscribe() every current one, later each one a reload creates,
    /// before any of its processes starts (so its log lines can be wired up).
    std::function<void(Service&)> added;
    /// The set of services changed (one was added, or a removed one is
    /// gone); once at subscribe().
    std::function<void()> services_changed;
    /// A service's instances changed state or health, or its rollout
    /// moved on (for live views); at subscribe() once per service.
    std::function<void(const Service&)> changed;
  };

 private:
  struct Listeners;  // the subscribers (below)

 public:
  /// Keeps a listener subscribed while it lives; destroying it (or
  /// reset()) unsubscribes. It may outlive the supervisor.
  class Subscription {
   public:
    Subscription() = default;
    ~Subscription() { reset(); }
    Subscription(Subscription&& other) noexcept { *this = std::move(other); }
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    void reset();

   private:
    friend class Supervisor;
    Subscription(std::weak_ptr<Listeners> listeners, std::uint64_t id)
        : listeners_(std::move(listeners)), id_(id) {}

    std::weak_ptr<Listeners> listeners_;
    std::uint64_t id_ = 0;
  };

  /// Update-and-listen (userver's dynamic config): calls `listener` at once
  /// with the current state (added for every service, services_changed,
  /// then changed for every service), and again on every change, until the
  /// returned Subscription is gone. Listeners are called in subscription
  /// order, so a later one sees what an earlier one did with the change.
  [[nodiscard]] Subscription subscribe(Listener listener);

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

 private:
  friend class ServiceRollout;
  struct Reload;

  /// The subscribers, shared with their Subscriptions.
  struct Listeners {
    std::map<std::uint64_t, Listener> by_id;
    std::uint64_t next_id = 1;
  };

  /// Calls one hook of every subscriber; reads like the single callbacks it
  /// replaced (`if (on_change) on_change(service)`), so the reload steps
  /// notify the same way.
  template <typename... Args>
  class Notify {
   public:
    using Hook = std::function<void(Args...)> Listener::*;
    Notify(const std::shared_ptr<Listeners>& listeners, Hook hook)
        : listeners_(listeners), hook_(hook) {}
    /// Whether anyone subscribed.
    explicit operator bool() const { return !listeners_->by_id.empty(); }
    void operator()(Args... args) const {
      // By id, each hook copied: a listener may subscribe or unsubscribe
      // (itself too) while it is called.
      std::vector<std::uint64_t> ids;
      for (const auto& entry : listeners_->by_id) ids.push_back(entry.first);
      for (auto id : ids) {
        auto it = listeners_->by_id.find(id);
        if (it == listeners_->by_id.end() || !(it->second.*hook_)) continue;
        auto hook = it->second.*hook_;
        hook(args...);
      }
    }

   private:
    const std::shared_ptr<Listeners>& listeners_;
    Hook hook_;
  };

  void on_instance_state(Instance& instance, ProcessState before) override;
  void on_instance_health(Instance& instance, health::HealthStatus before) override;
  /// A rollout proving this instance must hear of it now.
  void on_instance_check_failed(Instance&) override { request_reload_step(); }
  void request_evaluate();
  void evaluate();
  void advance_shutdown();
  bool dependency_met(const config::Dependency& dep) const;
  bool dependency_failed(const config::Dependency& dep) const;
  /// Stops and parks the instances of a service that is not placed here.
  void park(Service& service);
  void note_service_state(const Service& service);
  void request_reload_step();
  void reload_step();
  void finish_reload();
  /// Ends a running reload early (shutdown): `done` gets what was applied.
  void abort_reload();
  void order_services();
  /// The port for instance `index` of `spec`: port + index, or a free one
  /// when another instance holds that.
  std::optional<std::uint16_t> port_for(const config::ServiceSpec& spec, int index) const;
  bool under_rollout(const std::string& name) const;
  /// The rollout of `name` that is running now (a reload's or a restart's).
  ServiceRollout* running_rollout(const std::string& name);

  InstanceDeps deps_;
  core::EventBus& events_;
  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<Service>> services_;  // in start order
  std::map<std::string, ProcessState> last_state_;
  std::set<std::string> unplaced_;  // by name: also for services a reload has yet to add
  std::unique_ptr<Reload> reload_;
  /// Rolling restarts by service name, stepped with the reload.
  std::map<std::string, std::unique_ptr<ServiceRollout>> restarts_;
  bool reload_step_pending_ = false;
  bool evaluate_pending_ = false;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<Listeners> listeners_;
  // Named like the callbacks they replaced: reload.cpp calls them too.
  Notify<Service&> on_service_added{listeners_, &Listener::added};
  Notify<> on_services_changed{listeners_, &Listener::services_changed};
  Notify<const Service&> on_change{listeners_, &Listener::changed};
};

}  // namespace meshd::supervisor
