#include "meshd/config/service_name.hpp"

namespace meshd::config {

bool valid_service_name(const std::string& name) {
  constexpr std::size_t max_length = 63;
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '_' || c == '-'));
  };
  if (name.empty() || name.size() > max_length) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0)) return false;
  return true;
}

}  // namespace meshd::config
