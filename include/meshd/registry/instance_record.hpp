#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "meshd/core/clock.hpp"
#include "meshd/health/status.hpp"

namespace meshd::registry {

/// Where an instance came from.
enum class Origin {
  managed,     // a replica meshd runs (command:)
  external,    // an address from the file (address:)
  registered,  // POST /api/v1/registry at run time; persisted
  remote,  // owned by another node of the cluster (docs/cluster.md); its health comes from there
};
const char* to_string(Origin origin);

/// Operator overrides of one instance (SPEC 5: drain, maintenance, ready),
/// kept across restarts of meshd and of the instance.
struct Overrides {
  bool drain = false;
  bool maintenance = false;
  std::string note;  // who/why, shown by explain
  bool any() const { return drain || maintenance; }
};

/// One instance as everything outside the supervisor sees it: the single
/// source of truth for which instances exist and whether they may take
/// traffic.
struct InstanceRecord {
  std::string id;
  std::string service;
  std::string address;
  std::uint16_t port = 0;
  Origin origin = Origin::managed;
  std::vector<std::string> tags;
  std::map<std::string, std::string> metadata;
  int weight = 1;
  /// The node that owns (runs and checks) the instance: this node's name
  /// for local ones, the owner's for Origin::remote.
  std::string node;
  /// For Origin::remote: the origin the owner gave it ("managed", ...).
  std::string remote_origin;

  health::HealthStatus health = health::HealthStatus::unknown;
  std::string health_output;
  std::string check_type;      // "http", "tcp", ... for explain
  std::string process_state;   // managed only: "running", "backoff", ...; empty otherwise
  int pid = 0;                 // managed only
  std::int64_t joined_ms = 0;  // when it last (re)entered service (process start / registration)
  /// Set by the Registry: raised whenever what discovery shows of this
  /// instance changes, its overrides included (never by check output or
  /// pid alone), so that a view of it can be cached until then.
  std::uint64_t revision = 0;

  /// Passing (or warning) and, for a managed instance, its process runs.
  /// Overrides, ejections and breakers are applied on top by the caller.
  bool healthy() const {
    bool ok = health == health::HealthStatus::passing || health == health::HealthStatus::warning;
    return ok && (!runs_process() || process_state == "running" || process_state == "starting");
  }
  /// A process meshd runs, here or (remote) on its owner's node.
  bool runs_process() const {
    return origin == Origin::managed || (origin == Origin::remote && remote_origin == "managed");
  }
  bool local() const { return origin != Origin::remote; }
};

}  // namespace meshd::registry
