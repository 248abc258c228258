#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <optional>

// Node trees (already expanded and merged) to the structs of types.hpp. Key
// names were checked by schema.cpp; these check values, types and ranges.

#include <string>
#include <vector>

#include "fields.hpp"
#include "meshd/config/types.hpp"
#include "node.hpp"

namespace meshd::config::detail {

/// `full` for a complete service; `fragment` for `defaults:` and overlay
/// entries, which are checked on their own so that a bad value is reported
/// where it was written, but need not be a complete service.
enum class Completeness { full, fragment };

/// A service and the positions of the values that validate.cpp reports on.
struct ParsedService {
  ServiceSpec spec;
  SourceMark port_mark;
  std::vector<SourceMark> address_marks;     // one per spec.addresses entry
  std::optional<SourceMark> address_mark;    // the `address` key itself, when present
  std::vector<SourceMark> dependency_marks;  // one per spec.depends_on entry
  std::optional<SourceMark> placement_mark;  // the `placement` value, when present
};

struct ParsedMesh {
  MeshSpec spec;
  SourceMark listen_mark;
  SourceMark gateway_mark;
};

/// `mark` is where the service's name is written.
ParsedService parse_service(const Node& node, const std::string& name, SourceMark mark,
                            const std::string& path, Completeness completeness);

/// `node` may be null (no health block). `has_endpoint` says whether the
/// service has a port or an address that an http or tcp check can reach.
HealthSpec parse_health(const Node* node, const std::string& path, bool has_endpoint,
                        Completeness completeness);

/// load_balancer, weight, hash_key, slow_start, panic_threshold,
/// circuit_breaker, outlier_detection, retry and timeout.
void parse_traffic(const MapView& service, ServiceSpec& spec);
/// The `rollout:` block (rollout_parser.cpp).
RolloutSpec parse_rollout(const MapView& service);

std::vector<TestSpec> parse_tests(const Node& node, const std::string& path);

/// `fragment` for an environment's overlay, checked on its own: the rules
/// that tie keys together (tls and https endpoints) wait for the merge.
ParsedMesh parse_mesh(const Node& node, const std::string& path,
                      Completeness completeness = Completeness::full);

/// mesh.node, mesh.advertise and mesh.cluster into `spec`.
void parse_cluster_identity(const MapView& mesh, MeshSpec& spec, Completeness completeness);

/// placement and locality.
void parse_placement(const MapView& service, ParsedService& out);

/// Placement needs a process to place: an external service cannot have one.
void check_placement(const ParsedService& parsed);

}  // namespace meshd::config::detail
