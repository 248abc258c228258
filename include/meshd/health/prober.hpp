#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/health/status.hpp"

namespace boost::asio {
class io_context;
}
namespace meshd::core {
class ChildReaper;
class Scheduler;
}  // namespace meshd::core

namespace meshd::health {

/// One kind of active check (http, tcp, exec). Like Envoy's health checker
/// subclasses: the caller owns the schedule, a Prober only runs one probe.
class Prober {
 public:
  using Done = std::function<void(CheckResult)>;
  virtual ~Prober() = default;
  /// Starts one probe; `done` is called exactly once, on the loop, including
  /// on timeout. The probe keeps itself alive until then, so the caller must
  /// guard `done` if it may be gone by that time.
  virtual void run(Done done) = 0;
};

/// Where and how to probe one instance.
struct ProbeTarget {
  std::string host;
  std::uint16_t port = 0;
  config::HealthSpec spec;                 // per-instance variables already expanded
  std::string cwd;                         // exec
  std::map<std::string, std::string> env;  // exec: the instance's environment
};

/// What the probers run on: the loop their sockets and pipes belong to,
/// the reaper that reports exec checks' exits, and the scheduler whose clock
/// times each probe and whose timers enforce its timeout (a fake scheduler
/// in tests, as for the rest of the health module).
struct ProbeEnv {
  boost::asio::io_context& io;
  core::ChildReaper& reaper;
  core::Scheduler& scheduler;
};

std::unique_ptr<Prober> make_http_prober(const ProbeEnv& env, ProbeTarget target);
std::unique_ptr<Prober> make_tcp_prober(const ProbeEnv& env, ProbeTarget target);
std::unique_ptr<Prober> make_exec_prober(const ProbeEnv& env, ProbeTarget target);

/// The prober for `target.spec.type`, or nullptr for notify, ttl and none,
/// which are passive.
std::unique_ptr<Prober> make_prober(const ProbeEnv& env, ProbeTarget target);

}  // namespace meshd::health
