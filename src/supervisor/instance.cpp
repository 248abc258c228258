#include "meshd/supervisor/instance.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "meshd/config/graph.hpp"
#include "meshd/core/process.hpp"

namespace meshd::supervisor {
namespace {

std::string format_delay(core::Duration d) {
  if (d.count() < 1000) return std::to_string(d.count()) + "ms";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

Instance::Instance(const InstanceDeps& deps, std::shared_ptr<const config::ServiceSpec> spec,
                   int index, std::shared_ptr<LogTail> tail, InstanceObserver& observer,
                   InstanceOptions options)
    : deps_(deps),
      spec_(std::move(spec)),
      index_(index),
      generation_(options.generation),
      id_(spec_->name + "-" + std::to_string(index) +
          (options.generation > 0 ? "." + std::to_string(options.generation) : std::string())),
      tail_(std::move(tail)),
      observer_(observer),
      restarts_(spec_->restart),
      backoff_timer_(*deps.scheduler),
      kill_timer_(*deps.scheduler),
      drain_timer_(*deps.scheduler) {
  if (spec_->managed()) {
    address_ = "127.0.0.1";
    if (options.port)
      port_ = options.port;
    else if (spec_->port)
      port_ = static_cast<std::uint16_t>(*spec_->port + index);
  } else {
    const auto& endpoint = spec_->addresses.at(static_cast<std::size_t>(index));
    address_ = endpoint.host;
    port_ = endpoint.port;
  }
  config::InstanceVars vars{spec_->name, index_, port_};
  health::ProbeTarget target;
  target.host = address_;
  target.port = port_.value_or(0);
  target.spec = spec_->health;
  target.spec.path = config::expand_instance_vars(target.spec.path, vars);
  for (auto& arg : target.spec.command) arg = config::expand_instance_vars(arg, vars);
  target.env = environment("");
  std::filesystem::path cwd = spec_->cwd.empty() ? std::filesystem::path(deps_.base_dir)
                                                 : std::filesystem::path(spec_->cwd);
  if (cwd.is_relative()) cwd = std::filesystem::path(deps_.base_dir) / cwd;
  target.cwd = cwd.lexically_normal().string();
  auto prober = deps_.make_prober ? deps_.make_prober(target) : nullptr;
  checker_ = std::make_unique<health::HealthChecker>(
      *deps_.scheduler, target.spec, std::move(prober), deps_.random01,
      [this](health::HealthStatus status, const std::string&) { on_health(status); });
  checker_->set_on_failed_check([this] { observer_.on_instance_check_failed(*this); });
}

Instance::~Instance() {
  alive_.reset();  // expire the weak_ptrs held by pending callbacks
  // The daemon stops instances before destroying them; this is the last
  // line of defence against an orphaned process group.
  if (pid_ > 0) deps_.launcher->signal_group(pid_, SIGKILL);
}

void Instance::set_spec(std::shared_ptr<const config::ServiceSpec> spec) {
  spec_ = std::move(spec);
  restarts_.set_spec(spec_->restart);
}

std::map<std::string, std::string> Instance::environment(const std::string& notify_address) const {
  auto env = deps_.base_env;
  config::InstanceVars vars{spec_->name, index_, port_};
  for (const auto& [k, v] : spec_->env) env[k] = config::expand_instance_vars(v, vars);
  if (port_) env["PORT"] = std::to_string(*port_);
  env["MESHD_SERVICE"] = spec_->name;
  env["MESHD_INSTANCE"] = id_;
  env["MESHD_INSTANCE_INDEX"] = std::to_string(index_);
  if (!notify_address.empty())
    env["NOTIFY_SOCKET"] = notify_address;
  else
    env.erase("NOTIFY_SOCKET");
  return env;
}

void Instance::set_state(ProcessState state, std::string reason) {
  ProcessState before = state_;
  state_ = state;
  reason_ = std::move(reason);
  observer_.on_instance_state(*this, before);
}

void Instance::mark_pending(std::string reason) {
  if (has_process(state_) || state_ == ProcessState::backoff) return;
  if (state_ == ProcessState::pending && reason == reason_) return;
  stop_requested_ = false;
  set_state(ProcessState::pending, std::move(reason));
}

void Instance::mark_elsewhere() {
  if (has_process(state_) || state_ == ProcessState::elsewhere) return;
  backoff_timer_.cancel();
  start_after_stop_ = false;
  set_state(ProcessState::elsewhere, "placed on another node");
}

void Instance::start(bool manual) {
  if (retired_) return;
  if (manual) restarts_.clear();
  stop_requested_ = false;
  if (state_ == ProcessState::stopping) {
    start_after_stop_ = true;
    return;
  }
  if (has_process(state_)) return;
  backoff_timer_.cancel();
  if (!spec_->managed()) {
    set_state(ProcessState::running,
              "external instance at " + address_ + ":" + std::to_string(port_.value_or(0)));
    checker_->start();
    return;
  }
  spawn();
}

void Instance::spawn() {
  ++spawn_count_;
  readiness_.reset();
  std::string notify_address;
  if (spec_->health.type == config::CheckType::notify && deps_.make_readiness_channel) {
    std::string name =
        "meshd/" + std::to_string(::getpid()) + "/" + id_ + "/" + std::to_string(spawn_count_);
    std::weak_ptr<bool> alive = alive_;
    auto generation = spawn_count_;
    readiness_ = deps_.make_readiness_channel(name, [this, alive, generation] {
      if (alive.expired() || generation != spawn_count_ || !has_process(state_)) return;
      checker_->mark(health::HealthStatus::passing, "READY=1 received");
    });
    if (readiness_) notify_address = readiness_->address();
  }
  LaunchSpec launch;
  launch.service = spec_->name;
  launch.instance = id_;
  config::InstanceVars vars{spec_->name, index_, port_};
  for (const auto& arg : spec_->command)
    launch.argv.push_back(config::expand_instance_vars(arg, vars));
  std::filesystem::path cwd = spec_->cwd.empty() ? std::filesystem::path(deps_.base_dir)
                                                 : std::filesystem::path(spec_->cwd);
  if (cwd.is_relative()) cwd = std::filesystem::path(deps_.base_dir) / cwd;
  launch.cwd = cwd.lexically_normal().string();
  launch.env = environment(notify_address);
  launch.logs = spec_->logs;
  launch.tail = tail_;

  std::weak_ptr<bool> alive = alive_;
  auto pid_holder = std::make_shared<pid_t>(-1);
  auto launched = deps_.launcher->launch(launch, [this, alive, pid_holder](int status) {
    if (!alive.expired()) on_exit(*pid_holder, status);
  });
  if (!launched) {
    on_crash("cannot start: " + launched.error().message, deps_.scheduler->clock().now());
    return;
  }
  pid_ = *launched;
  *pid_holder = pid_;
  started_ = deps_.scheduler->clock().now();
  started_wall_ = deps_.scheduler->clock().wall_now();
  set_state(ProcessState::starting, "started pid " + std::to_string(pid_));
  checker_->start();
}

void Instance::on_exit(pid_t pid, int wait_status) {
  if (pid != pid_) return;  // an older process of this instance
  pid_ = -1;
  last_exit_ = wait_status;
  kill_timer_.cancel();
  drain_timer_.cancel();
  readiness_.reset();
  // Whatever the process left behind in its group goes with it.
  deps_.launcher->signal_group(pid, SIGKILL);
  checker_->stop();
  std::string what = core::describe_wait_status(wait_status);

  if (state_ == ProcessState::stopping || stop_requested_) {
    checker_->mark(health::HealthStatus::critical, "stopped: " + what);
    set_state(ProcessState::stopped, "stopped: " + what);
    if (start_after_stop_) {
      start_after_stop_ = false;
      stop_requested_ = false;
      spawn();
    }
    return;
  }
  checker_->mark(health::HealthStatus::critical, "process exited: " + what);
  bool clean = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  switch (spec_->restart.policy) {
    case config::RestartPolicy::never:
      set_state(clean ? ProcessState::exited : ProcessState::failed, "exited: " + what);
      return;
    case config::RestartPolicy::on_failure:
      if (clean) {
        set_state(ProcessState::exited, "completed: " + what);
        return;
      }
      break;
    case config::RestartPolicy::always:
      break;
  }
  on_crash(what, started_);
}

void Instance::on_crash(const std::string& what, core::TimePoint started) {
  auto now = deps_.scheduler->clock().now();
  auto delay = restarts_.on_crash(started, now, deps_.random01());
  if (!delay) {
    set_state(ProcessState::failed, what + "; gave up after " +
                                        std::to_string(spec_->restart.max_restarts) +
                                        " restarts within " + format_delay(spec_->restart.window));
    return;
  }
  set_state(ProcessState::backoff, what + "; restarting in " + format_delay(*delay));
  backoff_timer_.arm(*delay, [this] { spawn(); });
}

void Instance::stop() {
  stop_requested_ = true;
  start_after_stop_ = false;
  backoff_timer_.cancel();
  switch (state_) {
    case ProcessState::starting:
    case ProcessState::running:
      if (!spec_->managed()) {
        checker_->stop();
        checker_->mark(health::HealthStatus::unknown, "stopped");
        set_state(ProcessState::stopped, "stopped by request");
        return;
      }
      // Drain first: the stopping state takes the instance out of the
      // balancer at once; in-flight requests get up to the shutdown
      // timeout to finish before the signal.
      if (deps_.in_flight && deps_.in_flight(id_) > 0) {
        set_state(ProcessState::stopping,
                  "draining " + std::to_string(deps_.in_flight(id_)) + " in-flight requests");
        drain_then_signal(deps_.scheduler->clock().now() + spec_->shutdown.timeout);
        return;
      }
      set_state(ProcessState::stopping, "sent " + core::signal_name(spec_->shutdown.signal));
      send_stop_signal();
      return;
    case ProcessState::stopping:
      return;
    case ProcessState::pending:
    case ProcessState::backoff:
    case ProcessState::exited:
    case ProcessState::failed:
      set_state(ProcessState::stopped, "stopped by request");
      return;
    case ProcessState::elsewhere:
      set_state(ProcessState::stopped, "stopped by request");
      return;
    case ProcessState::stopped:
      return;
  }
}

void Instance::drain_then_signal(core::TimePoint deadline) {
  auto now = deps_.scheduler->clock().now();
  if (pid_ <= 0) return;
  if (deps_.in_flight(id_) == 0 || now >= deadline) {
    reason_ =
        "sent " + core::signal_name(spec_->shutdown.signal) +
        (now >= deadline ? " (in-flight requests did not finish in time)" : " after draining");
    observer_.on_instance_state(*this, state_);
    send_stop_signal();
    return;
  }
  drain_timer_.arm(core::Duration(20), [this, deadline] { drain_then_signal(deadline); });
}

void Instance::send_stop_signal() {
  deps_.launcher->signal_group(pid_, spec_->shutdown.signal);
  if (spec_->shutdown.signal != SIGCONT) deps_.launcher->signal_group(pid_, SIGCONT);
  kill_timer_.arm(spec_->shutdown.timeout, [this] {
    if (pid_ <= 0) return;
    reason_ = "did not stop within " + format_delay(spec_->shutdown.timeout) + "; sent SIGKILL";
    deps_.launcher->signal_group(pid_, SIGKILL);
    observer_.on_instance_state(*this, state_);
  });
}

void Instance::restart() {
  if (retired_) return;
  if (state_ == ProcessState::stopping) {
    start_after_stop_ = true;
    stop_requested_ = false;
    return;
  }
  if (has_process(state_) && spec_->managed()) {
    stop();
    start_after_stop_ = true;
    restarts_.clear();
    return;
  }
  if (has_process(state_)) stop();
  start(true);
}

void Instance::on_health(health::HealthStatus status) {
  health::HealthStatus before = last_health_;
  last_health_ = status;
  if (state_ == ProcessState::starting && status != health::HealthStatus::unknown &&
      status != health::HealthStatus::critical)
    set_state(ProcessState::running, "ready: " + checker_->tracker().last_output());
  else if (state_ == ProcessState::starting && status == health::HealthStatus::critical && pid_ > 0)
    set_state(ProcessState::running,
              "running, but its check fails: " + checker_->tracker().last_output());
  observer_.on_instance_health(*this, before);
}

}  // namespace meshd::supervisor
