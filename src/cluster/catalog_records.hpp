#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <optional>
#include <string>

#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/instance_record.hpp"

namespace meshd::cluster {

/// What a key under the prefix is (docs/cluster.md lists the layout).
struct CatalogKey {
  enum class Kind { node, instance, registration, overrides, singleton, foreign };
  Kind kind = Kind::foreign;
  std::string node;  // node, instance
  std::string id;    // instance (the owner's id), registration, overrides ("<id>@<node>")
};
/// Reads `key` (with `prefix`); Kind::foreign for anything meshd did not write.
CatalogKey parse_key(const std::string& prefix, const std::string& key);

std::string node_key(const std::string& prefix, const std::string& node);
std::string instance_key(const std::string& prefix, const std::string& node, const std::string& id);
std::string registration_key(const std::string& prefix, const std::string& id);
std::string overrides_key(const std::string& prefix, const std::string& qualified_id);
std::string singleton_name(const std::string& prefix, const std::string& service);

/// A node's record: the NodeRecord's published fields, plus the data-dir
/// identity that lets a restarted node take its own name back, and
/// "leaving" once it shuts down on purpose.
struct NodeValue {
  registry::NodeRecord record;
  std::string incarnation;
  bool leaving = false;
};
std::string encode_node(const NodeValue& node);
std::optional<NodeValue> decode_node(const std::string& name, const std::string& text);

/// An instance as other nodes see it: what discovery shows, never check
/// output or pids (they change without changing the answer, and would
/// cost a write each). A loopback address is replaced by `advertise`.
std::string encode_instance(const registry::InstanceRecord& record, const std::string& advertise);
/// The record another node published: origin remote, id "<id>@<node>".
std::optional<registry::InstanceRecord> decode_instance(const std::string& node,
                                                        const std::string& id,
                                                        const std::string& text);

/// "<id>@<node>" for an id of this node, as overrides are keyed in etcd;
/// an id that already names its node ("<id>@<other>") is kept.
std::string qualify(const std::string& id, const std::string& self);
/// The id the local registry knows for a qualified one: "<id>" for this
/// node's own instances, "<id>@<node>" for others'.
std::string unqualify(const std::string& qualified, const std::string& self);

}  // namespace meshd::cluster
