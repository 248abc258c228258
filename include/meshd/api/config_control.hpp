#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace meshd::api {

/// What the config routes (GET /api/v1/config, reload, rollback, history,
/// POST /admin/config) ask of whoever applies configs: the daemon's
/// ConfigReloader, whose methods these are, so that it implements this
/// interface as it is. The routes check their arguments; the work and its
/// answer (status and JSON body) are the reloader's.
class ConfigControl {
 public:
  /// Called once, with the status and body to answer (at once, or when the
  /// rollout is done with `wait`).
  using Done = std::function<void(int status, nlohmann::json body)>;

  virtual ~ConfigControl() = default;

  /// Reloads the file meshd was started with; `trigger` says who asked
  /// (for the event and the history).
  virtual void reload_file(const std::string& trigger, bool wait, Done done) = 0;
  /// Applies a config from a request body: YAML, or a JSON patch or merge
  /// patch of the running config, as `content_type` says.
  virtual void reload_body(const std::string& body, const std::string& content_type, bool wait,
                           Done done) = 0;
  /// Applies an earlier version again.
  virtual void rollback_to(std::int64_t version, bool wait, Done done) = 0;
  /// {"running_version", the last rejected attempt, a reload in progress}.
  virtual nlohmann::json status() const = 0;
  /// The applied versions, newest first, at most `limit`.
  virtual nlohmann::json history(int limit) const = 0;
};

}  // namespace meshd::api
