#include "yaml_reader.hpp"

#include <yaml-cpp/yaml.h>

#include "field_error.hpp"

namespace meshd::config::detail {

namespace {

// Aliases are shared in yaml-cpp but copied here; this bounds the copy so a
// "billion laughs" file fails with an error instead of eating the memory.
constexpr std::size_t max_nodes = 1'000'000;

SourceMark to_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

class Converter {
 public:
  Node convert(const YAML::Node& in, SourceMark fallback) {
    if (++count_ > max_nodes)
      fail(fallback, "document too large (too many nodes after alias expansion)");
    Node out;
    out.mark = to_mark(in.Mark());
    switch (in.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        // yaml-cpp marks an empty value at the start of the next line; the
        // key's own position is what a reader expects to see.
        out.mark = fallback;
        break;
      case YAML::NodeType::Scalar:
        out.kind = Node::Kind::scalar;
        out.scalar = in.Scalar();
        break;
      case YAML::NodeType::Sequence:
        out.kind = Node::Kind::list;
        for (const auto& item : in) out.items.push_back(convert(item, out.mark));
        break;
      case YAML::NodeType::Map:
        out.kind = Node::Kind::map;
        convert_map(in, out);
        break;
    }
    return out;
  }

 private:
  void convert_map(const YAML::Node& in, Node& out) {
    std::vector<Node> merged;      // maps named by `<<`, applied after explicit keys
    for (const auto& pair : in) {  // `pair` owns the nodes; it->first would dangle
      const YAML::Node& key = pair.first;
      SourceMark key_mark = to_mark(key.Mark());
      if (!key.IsScalar()) fail(key_mark, "map keys must be plain strings");
      Node value = convert(pair.second, key_mark);
      if (key.Scalar() == "<<" && key.Tag() == "?") {
        collect_merge(value, merged);
        continue;
      }
      for (const auto& entry : out.entries)
        if (entry.key == key.Scalar())
          fail(key_mark, "duplicate key '" + entry.key + "' (first at line " +
                             std::to_string(entry.key_mark.line) + ")");
      out.entries.push_back(Entry{key.Scalar(), key_mark, std::move(value)});
    }
    // YAML merge keys: explicit keys win, then earlier merged maps win.
    for (auto& source : merged)
      for (auto& entry : source.entries)
        if (!out.find(entry.key)) out.entries.push_back(std::move(entry));
  }

  static void collect_merge(Node& value, std::vector<Node>& merged) {
    if (value.is_map()) {
      merged.push_back(std::move(value));
      return;
    }
    if (value.is_list()) {
      for (auto& item : value.items) {
        if (!item.is_map())
          fail(item.mark, "'<<' merges maps only, got " + std::string(describe(item.kind)));
        merged.push_back(std::move(item));
      }
      return;
    }
    fail(value.mark, "'<<' merges maps only, got " + std::string(describe(value.kind)));
  }

  std::size_t count_ = 0;
};

}  // namespace

Node read_yaml(const std::string& text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    fail(to_mark(e.mark), e.msg);
  }
  if (docs.empty()) return Node{};
  if (docs.size() > 1)
    fail({}, "the file holds " + std::to_string(docs.size()) +
                 " YAML documents; meshd reads exactly one");
  return Converter{}.convert(docs.front(), SourceMark{1, 1});
}

}  // namespace meshd::config::detail
