#include "meshd/registry/overrides_codec.hpp"

#include <nlohmann/json.hpp>

namespace meshd::registry {

std::string encode_overrides(const Overrides& overrides) {
  return nlohmann::json({{"drain", overrides.drain},
                         {"maintenance", overrides.maintenance},
                         {"note", overrides.note}})
      .dump();
}

std::optional<Overrides> decode_overrides(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  // value() throws on a field of the wrong type; a damaged row is skipped
  // like one that is not JSON.
  try {
    return Overrides{j.value("drain", false), j.value("maintenance", false),
                     j.value("note", std::string())};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace meshd::registry
