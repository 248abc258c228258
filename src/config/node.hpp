#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// The YAML document as meshd sees it: a small tree of maps, lists and scalar
// strings where every node keeps the line and column it came from. yaml-cpp's
// own nodes lose their marks when copied or merged, and merging `defaults:`
// and `environments:` is exactly what the loader has to do before it can
// report an error against the line that caused it.

#include <string>
#include <string_view>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::config::detail {

struct Entry;

struct Node {
  enum class Kind { null, scalar, list, map };

  Kind kind = Kind::null;
  std::string scalar;          // Kind::scalar only
  std::vector<Node> items;     // Kind::list only
  std::vector<Entry> entries;  // Kind::map only, in file order
  SourceMark mark;

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_list() const { return kind == Kind::list; }
  bool is_map() const { return kind == Kind::map; }

  /// The value under `key` in a map, or nullptr (also for non-maps).
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
};

struct Entry {
  std::string key;
  SourceMark key_mark;
  Node value;
};

/// "a map", "a list", "a single value" or "nothing", for "expected X, got Y".
const char* describe(Node::Kind kind);

}  // namespace meshd::config::detail
