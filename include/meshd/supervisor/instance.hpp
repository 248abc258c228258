#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "meshd/config/types.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/health/health_checker.hpp"
#include "meshd/supervisor/process_launcher.hpp"
#include "meshd/supervisor/process_state.hpp"
#include "meshd/supervisor/restart_tracker.hpp"

namespace meshd::supervisor {

class Instance;

/// Receives an instance's changes; the Supervisor turns them into events and
/// re-evaluates dependencies.
class InstanceObserver {
 public:
  virtual ~InstanceObserver() = default;
  virtual void on_instance_state(Instance& instance, ProcessState before) = 0;
  virtual void on_instance_health(Instance& instance, health::HealthStatus before) = 0;
  /// A check failed without changing the instance's health (below its
  /// unhealthy_threshold).
  virtual void on_instance_check_failed(Instance&) {}
};

/// Where a process reports readiness (NOTIFY_SOCKET); alive while the
/// process may use it.
class ReadinessChannel {
 public:
  virtual ~ReadinessChannel() = default;
  virtual std::string address() const = 0;
};

/// The effects an Instance needs from the world, injected so the state
/// machine runs on a fake clock and fake processes in unit tests.
struct InstanceDeps {
  core::Scheduler* scheduler = nullptr;
  ProcessLauncher* launcher = nullptr;
  /// The active prober for a target, or null for passive check types.
  std::function<std::unique_ptr<health::Prober>(const health::ProbeTarget&)> make_prober;
  /// A readiness channel named `name` that calls `on_ready` on READY=1.
  std::function<std::unique_ptr<ReadinessChannel>(const std::string& name,
                                                  std::function<void()> on_ready)>
      make_readiness_channel;
  std::function<double()> random01;
  /// Requests the data path has in flight on an instance; a stop waits for
  /// them (up to the shutdown timeout) before signalling. May be empty.
  std::function<int(const std::string& instance)> in_flight;
  /// A free TCP port on 127.0.0.1 for a replacement instance whose fixed
  /// port is still held by the instance it replaces; nullopt when none.
  std::function<std::optional<std::uint16_t>()> free_port;
  /// Whether another node of the cluster has `service` meeting
  /// `condition`, for a dependency on a service not placed here. Empty:
  /// never (a single node).
  std::function<bool(const std::string& service, config::DependencyCondition)> met_elsewhere;
  std::map<std::string, std::string> base_env;  // meshd's environment
  std::string base_dir;  // relative `cwd` values resolve from here (meshd's cwd)
};

/// How a reload creates an instance next to an existing one.
struct InstanceOptions {
  /// 0 for the instances made at startup ("api-0"); a reload's
  /// replacements get the next one of their service ("api-0.1").
  int generation = 0;
  /// Overrides `port + index` (a replacement whose port is still in use).
  std::optional<std::uint16_t> port;
};

/// One replica of a service (or one external address) and its serialized
/// state machine. Start, stop and restart requests may arrive in any state
/// and at any time; the machine queues what cannot happen yet, so there is
/// never more than one process per instance.
class Instance {
 public:
  Instance(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec, int index,
           std::shared_ptr<LogTail> tail, InstanceObserver& observer, InstanceOptions options = {});
  ~Instance();

  /// A reload changed only what this instance reads when it uses it
  /// (restart policy, shutdown, logs, traffic settings): the caller
  /// guarantees the process-level fields (config::is_process_field) are equal.
  void set_spec(std::shared_ptr<const config::ServiceSpec> spec);
  const std::shared_ptr<const config::ServiceSpec>& spec_ptr() const { return spec_; }
  /// Taken out of the service by a reload: stopped, never started again,
  /// removed once its process is gone.
  void retire() {
    retired_ = true;
    stop();
  }
  bool retired() const { return retired_; }
  int generation() const { return generation_; }

  /// Starts the process (or, for an external address, the checks). A
  /// `manual` start forgets earlier crashes, like `systemctl reset-failed`.
  void start(bool manual = false);
  /// Graceful stop: the shutdown signal, then SIGKILL to the group after
  /// the timeout. No restart follows.
  void stop();
  /// Stop, then start again once the old process is gone.
  void restart();
  /// Forgets earlier crashes (an operator's start), like `systemctl reset-failed`.
  void clear_restarts() { restarts_.clear(); }
  /// Waiting on dependencies (only from stopped/exited/failed).
  void mark_pending(std::string reason);
  /// The service is not placed on this node: parked, from any state
  /// without a process (stop() it first). start() leaves it again.
  void mark_elsewhere();
  /// A TTL heartbeat for a ttl check. False when the check is not ttl.
  bool pass_ttl(std::string note) { return checker_->pass_ttl(std::move(note)); }

  const std::string& id() const { return id_; }
  const std::string& service() const { return spec_->name; }
  int index() const { return index_; }
  bool managed() const { return spec_->managed(); }
  std::string address() const { return address_; }
  std::optional<std::uint16_t> port() const { return port_; }
  ProcessState state() const { return state_; }
  health::HealthStatus health() const { return checker_->tracker().status(); }
  const std::string& health_output() const { return checker_->tracker().last_output(); }
  const health::HealthChecker& checker() const { return *checker_; }
  pid_t pid() const { return pid_; }
  int restarts() const { return restarts_.total_restarts(); }
  int weight() const { return spec_->weight; }
  /// Why the instance is in its state, in one line ("exit code 3; restarting in 1.2s").
  const std::string& reason() const { return reason_; }
  std::optional<int> last_exit_status() const { return last_exit_; }
  std::optional<core::WallTime> started_at() const { return started_wall_; }
  bool stop_requested() const { return stop_requested_; }

 private:
  void spawn();
  void on_exit(pid_t pid, int wait_status);
  void on_crash(const std::string& what, core::TimePoint started);
  void on_health(health::HealthStatus status);
  void drain_then_signal(core::TimePoint deadline);
  void send_stop_signal();
  void set_state(ProcessState state, std::string reason);
  std::map<std::string, std::string> environment(const std::string& notify_address) const;

  InstanceDeps deps_;
  std::shared_ptr<const config::ServiceSpec> spec_;
  int index_;
  int generation_ = 0;
  bool retired_ = false;
  std::string id_;
  std::string address_;
  std::optional<std::uint16_t> port_;
  std::shared_ptr<LogTail> tail_;
  InstanceObserver& observer_;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<ReadinessChannel> readiness_;
  RestartTracker restarts_;
  core::Timer backoff_timer_;
  core::Timer kill_timer_;
  core::Timer drain_timer_;
  ProcessState state_ = ProcessState::stopped;
  health::HealthStatus last_health_ = health::HealthStatus::unknown;
  std::string reason_;
  pid_t pid_ = -1;
  core::TimePoint started_{};
  std::optional<core::WallTime> started_wall_;
  std::optional<int> last_exit_;
  bool stop_requested_ = false;
  bool start_after_stop_ = false;
  std::uint64_t spawn_count_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace meshd::supervisor
