#include "merge.hpp"

namespace meshd::config::detail {

Node merge(const Node& base, const Node& over) {
  if (!base.is_map() || !over.is_map()) return over;
  Node out = base;
  out.mark = over.mark;
  for (const auto& entry : over.entries) {
    bool found = false;
    for (auto& mine : out.entries) {
      if (mine.key != entry.key) continue;
      mine.value = merge(mine.value, entry.value);
      mine.key_mark = entry.key_mark;
      found = true;
      break;
    }
    if (!found) out.entries.push_back(entry);
  }
  return out;
}

}  // namespace meshd::config::detail
