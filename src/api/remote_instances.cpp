#include "remote_instances.hpp"

namespace meshd::api {

std::optional<RemoteOwner> remote_owner(const ApiContext& ctx, const std::string& id) {
  std::string node;
  if (const auto* r = ctx.registry ? ctx.registry->find(id) : nullptr) {
    if (r->origin != registry::Origin::remote) return std::nullopt;
    node = r->node;
  } else {
    // Gone from the registry (the owner withdrew it a moment ago), or never
    // there: the id still says whose it would be.
    auto at = id.rfind('@');
    if (at == std::string::npos || at + 1 == id.size()) return std::nullopt;
    node = id.substr(at + 1);
    if (ctx.catalog && node == ctx.catalog->node_name()) return std::nullopt;
    bool known = false;
    if (ctx.catalog)
      for (const auto& n : ctx.catalog->nodes()) known = known || n.name == node;
    if (!known) return std::nullopt;
  }
  RemoteOwner owner{node, ""};
  if (ctx.catalog)
    for (const auto& n : ctx.catalog->nodes())
      if (n.name == node) owner.api_address = n.api_address;
  return owner;
}

Response refuse_remote(const std::string& id, const RemoteOwner& owner, const std::string& action) {
  std::string where = owner.api_address.empty() ? "" : " (its API is at " + owner.api_address + ")";
  return error_response(core::ErrorCode::conflict,
                        "instance '" + id + "' runs on node '" + owner.node + "'" + where + ": " +
                            action + " must go to that node, which runs and checks it");
}

}  // namespace meshd::api
