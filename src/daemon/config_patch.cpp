#include "config_patch.hpp"

#include <algorithm>
#include <cctype>

#include "meshd/config/loader.hpp"
#include "meshd/core/text.hpp"

namespace meshd::daemon {

using core::ErrorCode;
using nlohmann::json;

core::Result<ConfigBody> read_config_body(const std::string& body,
                                          const std::string& content_type) {
  std::string type = core::lower(content_type.substr(0, content_type.find(';')));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return core::make_error(ErrorCode::invalid_argument,
                            "empty body: send the whole config as YAML, or a JSON patch with "
                            "Content-Type application/json-patch+json");
  ConfigBody out;
  if (type == "application/json-patch+json") out.kind = ConfigBody::Kind::json_patch;
  if (type == "application/merge-patch+json") out.kind = ConfigBody::Kind::merge_patch;
  if (out.kind != ConfigBody::Kind::whole_config || type == "application/json") {
    out.patch = json::parse(body, nullptr, false);
    if (out.patch.is_discarded())
      return core::make_error(ErrorCode::invalid_argument,
                              "the body is not valid JSON (Content-Type " + type + ")");
    if (type == "application/json" && out.patch.is_array()) out.kind = ConfigBody::Kind::json_patch;
  }
  if (out.kind == ConfigBody::Kind::json_patch && !out.patch.is_array())
    return core::make_error(ErrorCode::invalid_argument,
                            "a JSON patch (RFC 6902) is an array of operations");
  if (out.kind == ConfigBody::Kind::merge_patch && !out.patch.is_object())
    return core::make_error(ErrorCode::invalid_argument,
                            "a merge patch (RFC 7396) is a JSON object");
  if (out.kind == ConfigBody::Kind::whole_config)
    out.patch = nullptr;  // the body itself is read as YAML
  return out;
}

core::Result<std::string> apply_config_patch(const ConfigBody& body, const std::string& base_text) {
  json base;
  try {
    base = config::yaml_to_json(base_text, "the running config");
  } catch (const config::ConfigError& e) {
    return core::make_error(
        ErrorCode::conflict,
        std::string("the running config's text cannot be patched: ") + e.what());
  }
  try {
    if (body.kind == ConfigBody::Kind::json_patch)
      base = base.patch(body.patch);
    else
      base.merge_patch(body.patch);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.out_of_range.403] key 'x' not found" -> the message.
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return core::make_error(ErrorCode::invalid_argument, "the patch does not apply: " + what);
  }
  return base.dump(2) + "\n";
}

}  // namespace meshd::daemon
