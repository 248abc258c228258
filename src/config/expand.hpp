#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// ${VAR} expansion at load time. ${PORT}, ${INSTANCE} and ${SERVICE} differ
// per instance and are left for expand_instance_vars() (graph.hpp).

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node.hpp"

namespace meshd::config::detail {

/// Looks a variable up; nullopt when it is not set.
using VariableLookup = std::function<std::optional<std::string>(const std::string&)>;

/// Expands ${VAR} and ${VAR:-default} (default when VAR is unset or empty;
/// unset without default gives "", as in sh) and turns $$ into $. Values are
/// inserted as they are, never expanded again. Throws FieldError at `mark`
/// for an unterminated ${ or a malformed reference.
std::string expand_variables(std::string_view text, const VariableLookup& lookup, SourceMark mark);

/// expand_variables() on every scalar value (not key) in the tree.
void expand_tree(Node& node, const VariableLookup& lookup);

/// True for PORT, INSTANCE and SERVICE.
bool is_instance_variable(std::string_view name);

}  // namespace meshd::config::detail
