#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.hpp"
#include "config_file_watch.hpp"
#include "meshd/api/config_control.hpp"
#include "meshd/config/diff.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/error.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::daemon {

/// Every way to reload the config (SIGHUP, POST /api/v1/config/reload,
/// POST /admin/config, POST /api/v1/config/rollback, and the file watch of
/// --dev) goes through here: load and validate completely first, then hand
/// the difference to Supervisor::reload, keep each applied version in
/// SQLite, and remember the last rejected one. One reload at a time: a
/// request over HTTP while one runs gets 409; SIGHUP and file changes wait
/// for it (the last one wins). See docs/reload.md. It is the config routes'
/// api::ConfigControl.
class ConfigReloader final : public api::ConfigControl {
 public:
  struct Hooks {
    /// Validated, about to be applied: the data path takes the new
    /// traffic settings now.
    std::function<void(const std::shared_ptr<const config::Config>& next,
                       const config::ConfigDiff& diff)>
        begin;
    /// Finished: `running` is what runs now (rolled-back services on their
    /// old definitions).
    std::function<void(const std::shared_ptr<const config::Config>& running)> finished;
  };

  /// An answer for the HTTP layer: status and JSON body. A refusal is
  /// built from one core::Error (core::http_status, core::error_json).
  using Done = api::ConfigControl::Done;

  /// Time and "later" come from `scheduler` (its clock stamps versions and
  /// rejections), so tests drive it on a fake clock.
  ConfigReloader(core::Scheduler& scheduler, RunOptions options, supervisor::Supervisor& supervisor,
                 store::Database& database, core::EventBus& events,
                 std::shared_ptr<const config::Config> running, std::int64_t running_version,
                 Hooks hooks);
  ~ConfigReloader() override;

  /// Re-reads the file given with -c. `wait`: answer when the rollout is
  /// finished (200) rather than once it is accepted (202).
  void reload_file(const std::string& trigger, bool wait, Done done) override;
  /// POST /admin/config: the body is a whole config in YAML (or JSON), or,
  /// with Content-Type application/json-patch+json or a JSON array body, an
  /// RFC 6902 patch, or with application/merge-patch+json an RFC 7396
  /// merge patch, applied to the last applied config's text.
  void reload_body(const std::string& body, const std::string& content_type, bool wait,
                   Done done) override;
  /// POST /api/v1/config/rollback?to=N: the text stored for version N.
  void rollback_to(std::int64_t version, bool wait, Done done) override;
  /// SIGHUP and file changes: never refused; queued behind a running reload.
  void reload_in_background(const std::string& trigger);

  /// For GET /api/v1/config: the running version, the last rejected one,
  /// the reload in progress, and "differs_from_file" with the "reverted"
  /// services while a reverted rollout keeps them on their previous
  /// definition.
  nlohmann::json status() const override;
  /// For GET /api/v1/config/history.
  nlohmann::json history(int limit) const override;
  bool busy() const { return busy_; }

  /// --dev: reload when the file changes on disk (polled, debounced).
  void watch_file(core::Duration poll = core::Duration(500),
                  core::Duration settle = core::Duration(300));

 private:
  /// The newest `limit` config versions, including every version written so
  /// far: the store writes on its own thread, so the queue is flushed first
  /// (a no-op unless a write is pending; versions are written only when a
  /// reload finishes).
  std::vector<store::ConfigVersion> stored_versions(int limit) const;
  struct Attempt {
    std::string trigger;
    std::string source;       // the YAML text
    std::string source_name;  // for error messages
    bool wait = false;
    Done done;
  };
  void apply(Attempt attempt);
  /// Nothing changed: logged, kept as the last rejection (GET
  /// /api/v1/config), published as config.rejected, and answered with
  /// `error`'s status. `where` adds the file, line and column of an
  /// invalid_config.
  /// Runs the queued background trigger once no rolling restart runs.
  void wait_for_restarts();
  void reject(const Attempt& attempt, const core::Error& error,
              const nlohmann::json& where = nlohmann::json::object());
  /// `applied` is the config the reload set out to apply; services the
  /// report leaves on another definition are the reverted ones.
  void finished(const Attempt& attempt, std::int64_t version,
                const supervisor::ReloadReport& report, nlohmann::json base,
                const config::Config& applied);

  core::Scheduler& scheduler_;
  const core::TimeSource& clock_;
  RunOptions options_;
  supervisor::Supervisor& supervisor_;
  store::Database& database_;
  core::EventBus& events_;
  std::shared_ptr<const config::Config> running_;
  std::int64_t running_version_;
  Hooks hooks_;
  bool busy_ = false;
  std::optional<std::string> queued_;  // a background trigger waiting for the running reload
  /// Checks, while only a rolling restart runs (no reload to finish and
  /// run the queued trigger), whether the queued trigger may run now.
  core::Timer restart_wait_{scheduler_};
  nlohmann::json in_progress_;  // what the running reload changes
  nlohmann::json rejected_;     // the last rejected attempt, or null
  nlohmann::json last_result_;  // the last finished reload, or null
  /// Services running their previous definition because their rollout
  /// failed and was reverted (or aborted): the running config is not the
  /// one last applied (the file, when it came from the file).
  std::vector<std::string> reverted_;
  std::unique_ptr<ConfigFileWatch> watch_;  // --dev
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace meshd::daemon
