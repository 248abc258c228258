#pragma once

#include <string>
#include <vector>

#include "meshd/registry/instance_record.hpp"

namespace meshd::registry {

/// One reason an instance is out of rotation, for `explain` and discovery.
struct RotationReason {
  std::string kind;     // "process", "health", "drain", "maintenance", later "ejected", "breaker"
  std::string message;  // one line for the operator
  std::string output;   // the last check output, for "health"
};

/// Why the registry alone keeps `record` out of rotation (empty: in
/// rotation as far as the registry knows; the data path adds outlier
/// ejection, breakers and slow start on top).
std::vector<RotationReason> rotation_reasons(const InstanceRecord& record,
                                             const Overrides& overrides);

}  // namespace meshd::registry
