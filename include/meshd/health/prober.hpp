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
}

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
  config::HealthSpec spec;                    // per-instance variables already expanded
  std::string cwd;                            // exec
  std::map<std::string, std::string> env;     // exec: the instance's environment
};

std::unique_ptr<Prober> make_http_prober(boost::asio::io_context& io, ProbeTarget target);
std::unique_ptr<Prober> make_tcp_prober(boost::asio::io_context& io, ProbeTarget target);
std::unique_ptr<Prober> make_exec_prober(boost::asio::io_context& io, core::ChildReaper& reaper,
                                         ProbeTarget target);

/// The prober for `target.spec.type`, or nullptr for notify, ttl and none,
/// which are passive.
std::unique_ptr<Prober> make_prober(boost::asio::io_context& io, core::ChildReaper& reaper,
                                    ProbeTarget target);

}  // namespace meshd::health
