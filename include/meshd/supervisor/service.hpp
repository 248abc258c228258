#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/supervisor/instance.hpp"
#include "meshd/supervisor/log_tail.hpp"
#include "meshd/supervisor/rollout_status.hpp"

namespace meshd::supervisor {

/// A service of the file: its spec, its instances, its log tail, and what
/// the operator wants of it (running or not).
class Service {
 public:
  Service(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec,
          InstanceObserver& observer);

  /// The service's last (or running) rollout, for the API and dashboard.
  using Rollout = RolloutStatus;

  const std::string& name() const { return spec_->name; }
  const config::ServiceSpec& spec() const { return *spec_; }
  std::vector<std::unique_ptr<Instance>>& instances() { return instances_; }
  const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
  Instance* find_instance(const std::string& id);
  const Instance* find_instance(const std::string& id) const;
  const std::shared_ptr<LogTail>& logs() const { return tail_; }
  const std::shared_ptr<const config::ServiceSpec>& spec_ptr() const { return spec_; }

  /// A reload: the service's definition, and with `instances_too` that of
  /// every instance (only when their process-level fields are equal).
  void set_spec(std::shared_ptr<const config::ServiceSpec> spec, bool instances_too);
  /// A new instance of `spec` (the service's, or an older one while rolling
  /// back) sharing the service's log tail; kept in index order. Not started.
  Instance& add_instance(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec,
                         int index, InstanceOptions options, InstanceObserver& observer);
  /// Destroys an instance whose process is gone.
  void erase_instance(const Instance* instance);
  /// A generation no instance of this service has had yet.
  int next_generation() { return ++generation_; }
  /// Removed from the file by a reload, and stopping.
  bool retiring() const { return retiring_; }
  void set_retiring() { retiring_ = true; }
  const Rollout& rollout() const { return rollout_; }
  Rollout& rollout() { return rollout_; }
  void set_rollout(Rollout rollout) { rollout_ = std::move(rollout); }

  /// The service's state from its instances': running if any runs, else
  /// the most hopeful of starting, backoff, stopping, pending; elsewhere
  /// when it is parked for another node; exited when all completed;
  /// failed when all gave up.
  ProcessState state() const;
  /// passing when every instance passes, warning when some pass (or warn),
  /// critical when none does, unknown before any result.
  health::HealthStatus health() const;
  /// True when at least one instance is passing or warning.
  bool available() const;
  /// Whether one of its current (not retired) instances has a process
  /// that is passing or warning: what a rollout or a rolling restart has
  /// to keep answering while it replaces them.
  bool serving() const;
  /// Restarts summed over instances.
  int restarts() const;

  /// Whether the operator (or startup) wants it running.
  bool wanted() const { return wanted_; }
  void set_wanted(bool wanted) { wanted_ = wanted; }
  /// Whether this node runs it (Supervisor::set_placed); true by default.
  bool placed() const { return placed_; }
  void set_placed(bool placed) { placed_ = placed; }
  /// The dependencies it is waiting on, when pending.
  const std::vector<std::string>& waiting_on() const { return waiting_on_; }
  void set_waiting_on(std::vector<std::string> deps) { waiting_on_ = std::move(deps); }

 private:
  std::shared_ptr<const config::ServiceSpec> spec_;
  std::shared_ptr<LogTail> tail_;
  std::vector<std::unique_ptr<Instance>> instances_;
  bool wanted_ = false;
  bool retiring_ = false;
  bool placed_ = true;
  int generation_ = 0;
  Rollout rollout_;
  std::vector<std::string> waiting_on_;
};

}  // namespace meshd::supervisor
