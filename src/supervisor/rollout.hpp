#pragma once
// Private to the supervisor module: not part of meshd's public headers (include/meshd/).
// Internal to the supervisor: the state of a running reload and the rollout
// of one service (rollout.cpp, rollout_failure.cpp). Supervisor::reload()
// in reload.cpp and Supervisor::restart_service drive them.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/core/scheduler.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::supervisor {

/// Whether an instance's process is gone (or it never had one).
inline bool process_gone(const Instance& i) {
  auto s = i.state();
  return s == ProcessState::stopped || s == ProcessState::exited || s == ProcessState::failed ||
         s == ProcessState::pending || s == ProcessState::elsewhere;
}

/// Replaces the instances of one service with instances of a definition
/// (its new one after a reload, the same one for a restart), so that no
/// request is lost (docs/reload.md, the service's `rollout:` block):
///
/// - replicas go in index order, at most max_parallel at a time; while
///   fewer than max_unavailable old replicas are down, a replica's old
///   instance stops before its new one starts, otherwise the new one starts
///   beside it;
/// - a new instance is proven once it has passed its check without a break
///   (no failed check, no exit, no outlier ejection) for min_healthy, within
///   `deadline` of its start (at least health.start_period + min_healthy);
///   only then does its old instance drain and stop;
/// - with `canary: N`, replicas 0..N-1 start beside their old instances, and
///   once all are proven the rollout waits for promote() or abort();
/// - a broken or late new instance fails the rollout: every new instance in
///   flight stops, the old ones (never touched) go on serving, and with
///   auto_revert the replicas already replaced get the previous definition
///   back (each gated on one pass within the deadline).
///
/// When no old instance is serving there is nothing to protect: the old
/// ones are retired and the new ones start at once, without a gate.
class ServiceRollout {
 public:
  enum class Trigger { reload, restart };

  ServiceRollout(Supervisor& supervisor, Service& service,
                 std::shared_ptr<const config::ServiceSpec> old_spec,
                 std::shared_ptr<const config::ServiceSpec> new_spec, Trigger trigger,
                 std::vector<std::string> fields);
  ~ServiceRollout();
  ServiceRollout(const ServiceRollout&) = delete;
  ServiceRollout& operator=(const ServiceRollout&) = delete;

  /// Advances as far as the instances' states and the clock allow; true
  /// once finished. Called again after any instance change and on its own
  /// timer (the end of a proving window, a deadline).
  bool step();
  /// The operator's answers to a canary (Supervisor::promote_rollout/abort_rollout).
  core::Status promote();
  core::Status abort();

  /// Ended with the previous definition running again.
  bool reverted() const { return reverted_; }
  /// Ended failed without going back (auto_revert: false, or a restart).
  bool failed() const { return failed_ && !reverted_; }
  const std::string& reason() const { return reason_; }
  const std::string& service() const { return name_; }
  /// "progressing" or "waiting for promote", for a refused reload's message.
  std::string describe() const;

 private:
  enum class Stage {
    waiting,       // not started yet
    stopping_old,  // max_unavailable: the old instance stops first
    starting,      // the new instance runs, not passing yet
    proving,       // passing since passing_since, for less than min_healthy
    canary,        // proven, waiting for promote
    proven,        // its old instance drains
    replaced,
    failed,     // the new instance broke or missed the deadline
    restoring,  // an instance of the previous definition starts again
    restored,
  };
  struct Replica {
    int index = 0;
    std::string old_id;      // the old instance, "" when the new definition adds this replica
    std::string new_id;      // "" until started
    std::string restore_id;  // an instance of the previous definition, while restoring
    Stage stage = Stage::waiting;
    bool old_stopped_early = false;  // max_unavailable: stopped before its replacement was proven
    core::TimePoint started{};       // of the new instance, for the deadline
    std::optional<core::TimePoint> passing_since;
    std::uint64_t failed_checks_at_pass = 0;
    int restarts_at_start = 0;
    bool ejected = false;  // an outlier.ejected event named the new instance
  };
  enum class Phase { rolling, waiting_promote, restoring, finishing, swap_idle, unplaced, done };

  Instance* find(const std::string& id) {
    return id.empty() ? nullptr : service_.find_instance(id);
  }
  core::TimePoint now() const;
  bool is_canary(const Replica& r) const { return r.index < canary_ && !promoted_; }
  /// A new instance of `spec` for replica `index`, on its port or a free
  /// one while the old instance holds it; not started yet.
  Instance& add_replica(const std::shared_ptr<const config::ServiceSpec>& spec, int index);
  /// Starts the new instance of replica `r`.
  void start_new(Replica& r);
  /// Moves one in-flight replica on; returns the reason when its new
  /// instance broke or missed the deadline.
  std::optional<std::string> advance(Replica& r);
  /// Why the new instance of `r` broke its window now, if it did.
  std::optional<std::string> broken(const Replica& r, const Instance& fresh) const;
  void roll();
  void finish_rolling();
  /// Fails the rollout (rollout_failure.cpp): stops the new instances in
  /// flight and, with `revert`, restores the previous definition.
  void fail(std::string reason, bool revert);
  void restore(Replica& r);
  bool step_restoring();
  void leave_node();
  /// Arms the timer at the next proving window end or deadline.
  void arm_wake();
  /// Mirrors the replicas into Service::rollout() for the API.
  void sync_status();
  void publish(const std::string& step, const Replica* r, const std::string& text);
  std::string stage_name(Stage s) const;

  Supervisor& sup_;
  Service& service_;
  std::string name_;
  std::shared_ptr<const config::ServiceSpec> old_spec_;
  std::shared_ptr<const config::ServiceSpec> new_spec_;
  config::RolloutSpec settings_;
  Trigger trigger_;
  int new_n_ = 0;
  int canary_ = 0;
  bool promoted_ = false;
  std::vector<Replica> replicas_;      // by index: 0..max(new count, old indexes)
  std::vector<std::string> swap_old_;  // swap_idle: the old instances retired at once
  Phase phase_ = Phase::rolling;
  core::Timer wake_;
  int event_subscription_ = 0;
  bool failed_ = false;
  bool reverted_ = false;
  std::string reason_;
};

struct Supervisor::Reload {
  std::shared_ptr<const config::Config> previous;
  std::shared_ptr<const config::Config> next;
  config::ConfigDiff diff;
  std::vector<std::string> queue;  // services to replace, in start order
  std::unique_ptr<ServiceRollout> active;
  std::map<std::string, ReloadOutcome> outcomes;
  std::function<void(ReloadReport)> done;
};

/// A rollout record in `state` (for changes that need no replacement).
RolloutStatus rollout_record(std::string state, std::string reason,
                             std::vector<std::string> fields);

}  // namespace meshd::supervisor
