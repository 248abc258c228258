#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// what this node may not do to another node's instance.

#include <optional>
#include <string>

#include "meshd/api/routes.hpp"

namespace meshd::api {

/// The node that owns `id` when it is another node's instance ("<id>@<node>",
/// origin remote), with that node's API address when the catalog knows it;
/// nullopt for this node's instances and for unknown ids.
struct RemoteOwner {
  std::string node;
  std::string api_address;  // empty when the catalog does not know the node
};
std::optional<RemoteOwner> remote_owner(const ApiContext& context, const std::string& id);

/// 409 for `action` (a TTL pass, say) on another node's instance: only the
/// node that runs and checks an instance can act on its process or check,
/// so the answer names that node and where its API is.
Response refuse_remote(const std::string& id, const RemoteOwner& owner, const std::string& action);

}  // namespace meshd::api
