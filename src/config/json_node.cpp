#include "json_node.hpp"

namespace meshd::config::detail {

Node node_from_json(const nlohmann::json& value) {
  Node node;
  if (value.is_null()) return node;
  if (value.is_object()) {
    node.kind = Node::Kind::map;
    for (const auto& [key, item] : value.items())
      node.entries.push_back(Entry{key, SourceMark{}, node_from_json(item)});
  } else if (value.is_array()) {
    node.kind = Node::Kind::list;
    for (const auto& item : value) node.items.push_back(node_from_json(item));
  } else {
    node.kind = Node::Kind::scalar;
    node.scalar = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return node;
}

}  // namespace meshd::config::detail
