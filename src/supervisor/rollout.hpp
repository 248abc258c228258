#pragma once
// Private to the supervisor module: not part of meshd's public headers (include/meshd/).
// Internal to the supervisor: the state of a running reload and the rolling
// replacement of one service (rollout.cpp). Supervisor::reload() in reload.cpp
// drives them.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "meshd/core/scheduler.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::supervisor {

/// Replaces the instances of one service with instances of its new
/// definition, one replica at a time: start the new instance of replica i
/// next to the old one (on a free port when the old holds the fixed one),
/// wait until it passes its check, then drain and stop the old one, then
/// replica i+1. A new instance that does not pass within its gate (or gives
/// up) rolls the whole service back: it is stopped, every replica already
/// replaced gets an instance of the old definition again, and each new
/// instance is stopped once its restored counterpart passes.
///
/// When no old instance is serving (all failing, crash-looping or stopped)
/// there is nothing to protect: the old ones are retired and the new ones
/// start at once, without a gate or a rollback.
class ServiceRollout {
 public:
  ServiceRollout(Supervisor& supervisor, Service& service,
                 std::shared_ptr<const config::ServiceSpec> old_spec,
                 std::shared_ptr<const config::ServiceSpec> new_spec);

  /// Advances as far as the instances' states allow; true once finished.
  /// Called again after any instance change.
  bool step();
  bool rolled_back() const { return rolled_back_; }
  const std::string& reason() const { return reason_; }
  const std::string& service() const { return name_; }

 private:
  enum class Phase {
    start_slot,
    wait_fresh,
    drain_old,
    remove_extra,
    restoring,
    finishing,
    swap_idle,
    unplaced,  // the service left this node mid-rollout: everything stops
    done
  };

  Instance* find(const std::string& id) { return service_.find_instance(id); }
  Instance* old_at(int index);
  core::Duration gate(const config::ServiceSpec& spec) const;
  void arm_deadline(core::Duration gate);
  void begin_rollback(std::string reason);
  /// Stops the rollout and every instance of a service no longer placed here.
  void leave_node();
  void publish(const std::string& text);

  Supervisor& sup_;
  Service& service_;
  std::string name_;
  std::shared_ptr<const config::ServiceSpec> old_spec_;
  std::shared_ptr<const config::ServiceSpec> new_spec_;
  int new_n_ = 0;
  std::map<int, std::string> old_;      // replica index -> id of the old instance
  std::map<int, std::string> fresh_;    // replica index -> id of its new instance
  std::map<int, std::string> restore_;  // replica index -> id of the instance restoring it
  std::map<int, bool> resolved_;        // restoring: replica settled
  int slot_ = 0;
  Phase phase_ = Phase::start_slot;
  core::Timer deadline_;
  bool deadline_hit_ = false;
  bool rolled_back_ = false;
  std::string reason_;
};

/// A rollout record in `state` (for changes that need no replacement).
RolloutStatus rollout_record(std::string state, std::string reason,
                             std::vector<std::string> fields);

struct Supervisor::Reload {
  std::shared_ptr<const config::Config> previous;
  std::shared_ptr<const config::Config> next;
  config::ConfigDiff diff;
  std::vector<std::string> queue;  // services to replace, in start order
  std::unique_ptr<ServiceRollout> active;
  std::map<std::string, ReloadOutcome> outcomes;
  std::function<void(ReloadReport)> done;
};

}  // namespace meshd::supervisor
