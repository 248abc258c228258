#include "config_reloader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config_patch.hpp"
#include "daemon.hpp"
#include "meshd/config/loader.hpp"
#include "meshd/core/local_reply.hpp"

namespace meshd::daemon {

using core::ErrorCode;
using nlohmann::json;

ConfigReloader::ConfigReloader(core::Scheduler& scheduler, RunOptions options,
                               supervisor::Supervisor& supervisor, store::Database& database,
                               core::EventBus& events,
                               std::shared_ptr<const config::Config> running,
                               std::int64_t running_version, Hooks hooks)
    : scheduler_(scheduler),
      clock_(scheduler.clock()),
      options_(std::move(options)),
      supervisor_(supervisor),
      database_(database),
      events_(events),
      running_(std::move(running)),
      running_version_(running_version),
      hooks_(std::move(hooks)) {}

ConfigReloader::~ConfigReloader() {
  alive_.reset();
}

void ConfigReloader::reload_file(const std::string& trigger, bool wait, Done done) {
  std::ifstream in(options_.config_path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    Attempt attempt{trigger, "", options_.config_path, wait, std::move(done)};
    reject(attempt, core::make_error(ErrorCode::invalid_config,
                                     options_.config_path + ": cannot read the file"));
    return;
  }
  apply(Attempt{trigger, text.str(), options_.config_path, wait, std::move(done)});
}

void ConfigReloader::reload_body(const std::string& body, const std::string& content_type,
                                 bool wait, Done done) {
  Attempt attempt{"POST /admin/config", "", "POST /admin/config", wait, std::move(done)};
  auto read = read_config_body(body, content_type);
  if (!read) {
    reject(attempt, read.error());
    return;
  }
  if (read->kind == ConfigBody::Kind::whole_config) {
    attempt.source = body;  // JSON is YAML too
    apply(std::move(attempt));
    return;
  }
  // A patch applies to the text of the config last applied.
  auto latest = stored_versions(1);
  auto patched = apply_config_patch(*read, latest.empty() ? std::string() : latest.front().source);
  if (!patched) {
    reject(attempt, patched.error());
    return;
  }
  attempt.trigger = read->kind == ConfigBody::Kind::json_patch ? "POST /admin/config (JSON patch)"
                                                               : "POST /admin/config (merge patch)";
  attempt.source = std::move(*patched);
  attempt.source_name = "POST /admin/config (patched)";
  apply(std::move(attempt));
}

void ConfigReloader::rollback_to(std::int64_t version, bool wait, Done done) {
  for (const auto& v : stored_versions(1 << 20)) {
    if (v.version != version) continue;
    apply(Attempt{"rollback to version " + std::to_string(version), v.source,
                  "config version " + std::to_string(version), wait, std::move(done)});
    return;
  }
  core::Error unknown{ErrorCode::not_found,
                      "no config version " + std::to_string(version) +
                          "; GET /api/v1/config/history lists the versions kept"};
  if (done) done(core::http_status(unknown.code), core::error_json(unknown));
}

void ConfigReloader::reload_in_background(const std::string& trigger) {
  if (busy_ || supervisor_.reloading()) {
    spdlog::info("{}: a reload is still being applied; reloading again when it is done", trigger);
    queued_ = trigger;
    return;
  }
  if (supervisor_.rolling()) {
    spdlog::info("{}: a rolling restart is still running; reloading when it is done", trigger);
    queued_ = trigger;
    wait_for_restarts();
    return;
  }
  reload_file(trigger, false, nullptr);
}

void ConfigReloader::wait_for_restarts() {
  restart_wait_.arm(core::Duration{250}, [this] {
    if (!queued_) return;  // a finished reload ran it
    if (busy_ || supervisor_.rolling()) return wait_for_restarts();
    auto trigger = *queued_;
    queued_.reset();
    reload_in_background(trigger);
  });
}

void ConfigReloader::reject(const Attempt& attempt, const core::Error& error, const json& where) {
  spdlog::error("config reload ({}) rejected, nothing changed: {}", attempt.trigger, error.message);
  json body = core::error_json(error, where);
  rejected_ = {{"time_ms", core::to_unix_ms(clock_.wall_now())},
               {"trigger", attempt.trigger},
               {"error", body["error"]}};
  events_.publish("config.rejected", "", "",
                  "config reload (" + attempt.trigger + ") rejected: " + error.message,
                  {{"trigger", attempt.trigger}, {"error", body["error"]}});
  if (attempt.done) attempt.done(core::http_status(error.code), std::move(body));
}

void ConfigReloader::apply(Attempt attempt) {
  if (busy_ || supervisor_.rolling()) {
    std::string pending = supervisor_.rollouts_summary();
    core::Error busy{
        ErrorCode::conflict,
        std::string(busy_ || supervisor_.reloading() ? "a reload is still being applied"
                                                     : "a rolling restart is still running") +
            (pending.empty() ? std::string() : " (" + pending + ")") +
            "; try again when GET /api/v1/config shows it finished"};
    if (attempt.done) attempt.done(core::http_status(busy.code), core::error_json(busy));
    return;
  }
  config::Config loaded;
  try {
    loaded = load_config_text(attempt.source, attempt.source_name, options_);
  } catch (const config::ConfigError& e) {
    json where = {{"file", e.file()}};
    if (e.line() > 0) where["line"] = e.line();
    if (e.column() > 0) where["column"] = e.column();
    reject(attempt, core::make_error(ErrorCode::invalid_config, e.what()), where);
    return;
  } catch (const std::exception& e) {
    reject(attempt, core::make_error(ErrorCode::invalid_config, e.what()));
    return;
  }
  loaded.source_path = running_->source_path;
  // What a running meshd cannot change keeps its running value: the
  // listening sockets, the data dir, the log format and the CORS origins
  // (copied into every connection). api_token, auth_reads and log_level
  // change live.
  std::vector<std::string> needs_restart;
  const auto& m = running_->mesh;
  if (!(loaded.mesh.listen == m.listen)) needs_restart.push_back("listen");
  if (loaded.mesh.gateway != m.gateway) needs_restart.push_back("gateway");
  if (loaded.mesh.data_dir != m.data_dir) needs_restart.push_back("data_dir");
  if (loaded.mesh.log_format != m.log_format) needs_restart.push_back("log_format");
  if (loaded.mesh.cors_origins != m.cors_origins) needs_restart.push_back("cors_origins");
  // The gateway's access log is opened once, with the gateway.
  const auto &la = loaded.mesh.access_log, &ra = m.access_log;
  if (la.path != ra.path || la.format != ra.format || la.max_size != ra.max_size ||
      la.keep != ra.keep)
    needs_restart.push_back("access_log");
  // The node's identity and its cluster (flags included) are fixed for
  // the life of the process: the lease and the name claim are made once.
  if (loaded.mesh.node != m.node) needs_restart.push_back("node");
  if (loaded.mesh.advertise != m.advertise) needs_restart.push_back("advertise");
  const auto &lc = loaded.mesh.cluster, &rc = m.cluster;
  if (lc.etcd != rc.etcd || lc.prefix != rc.prefix || lc.lease_ttl != rc.lease_ttl ||
      lc.tls.ca != rc.tls.ca || lc.tls.cert != rc.tls.cert || lc.tls.key != rc.tls.key)
    needs_restart.push_back("cluster");
  loaded.mesh.node = m.node;
  loaded.mesh.advertise = m.advertise;
  loaded.mesh.cluster = m.cluster;
  loaded.mesh.cors_origins = m.cors_origins;
  loaded.mesh.listen = m.listen;
  loaded.mesh.gateway = m.gateway;
  loaded.mesh.data_dir = m.data_dir;
  loaded.mesh.log_format = m.log_format;
  loaded.mesh.access_log = m.access_log;
  for (const auto& key : needs_restart)
    spdlog::warn("config reload ({}): mesh.{} changed; it takes effect when meshd restarts",
                 attempt.trigger, key);

  auto next = std::make_shared<const config::Config>(std::move(loaded));
  auto diff = config::diff_configs(*running_, *next);
  json changes = json::array();
  for (const auto& d : diff.services)
    if (d.change != config::ServiceChange::unchanged)
      changes.push_back(
          {{"service", d.name}, {"change", config::to_string(d.change)}, {"fields", d.fields}});
  json mesh = {{"applied", diff.mesh_fields}, {"needs_restart", needs_restart}};
  if (diff.empty()) {
    spdlog::info("config reload ({}): nothing changed", attempt.trigger);
    reverted_.clear();  // what runs is what was loaded
    if (attempt.done)
      attempt.done(200, {{"changed", false},
                         {"version", running_version_},
                         {"trigger", attempt.trigger},
                         {"mesh", mesh}});
    return;
  }
  auto history = stored_versions(1);
  std::int64_t version =
      std::max<std::int64_t>(running_version_, history.empty() ? 0 : history.front().version) + 1;
  json base = {{"changed", true},
               {"version", version},
               {"trigger", attempt.trigger},
               {"changes", changes},
               {"mesh", mesh}};
  busy_ = true;
  in_progress_ = {{"version", version},
                  {"trigger", attempt.trigger},
                  {"started_ms", core::to_unix_ms(clock_.wall_now())},
                  {"changes", changes}};
  events_.publish("config.reload", "", "",
                  "applying config version " + std::to_string(version) + " (" + attempt.trigger +
                      "): " + std::to_string(changes.size()) + " service(s) change",
                  {{"version", version}, {"trigger", attempt.trigger}, {"changes", changes}});
  if (hooks_.begin) hooks_.begin(next, diff);

  auto finished_now = std::make_shared<bool>(false);
  bool wait = attempt.wait;
  auto done = attempt.done;
  std::weak_ptr<bool> alive = alive_;
  auto shared_attempt = std::make_shared<Attempt>(std::move(attempt));
  auto status = supervisor_.reload(next, [this, alive, shared_attempt, version, base, next,
                                          finished_now](supervisor::ReloadReport report) {
    if (alive.expired()) return;
    *finished_now = true;
    finished(*shared_attempt, version, report, base, *next);
  });
  if (!status) {
    busy_ = false;
    in_progress_ = nullptr;
    if (hooks_.finished) hooks_.finished(running_);
    if (done) done(core::http_status(status.error().code), core::error_json(status.error()));
    return;
  }
  // Answered by finished() when it waits or when everything was applied at once.
  if (!wait && !*finished_now && done) {
    json accepted = base;
    accepted["accepted"] = true;
    accepted["status"] = "GET /api/v1/config shows the rollout; ?wait=true answers when it is done";
    done(202, accepted);
    shared_attempt->done = nullptr;
  }
}

void ConfigReloader::finished(const Attempt& attempt, std::int64_t version,
                              const supervisor::ReloadReport& report, json base,
                              const config::Config& applied) {
  running_ = report.running;
  running_version_ = version;
  reverted_.clear();
  for (const auto& d : config::diff_configs(applied, *running_).services)
    if (d.change != config::ServiceChange::unchanged) reverted_.push_back(d.name);
  busy_ = false;
  in_progress_ = nullptr;
  json services = json::array();
  json rolled_back = json::object();
  bool interrupted = false;
  for (const auto& o : report.services) {
    if (o.change == config::ServiceChange::unchanged) continue;
    json s = {{"service", o.service},
              {"change", config::to_string(o.change)},
              {"result", o.result},
              {"fields", o.fields}};
    if (!o.reason.empty()) s["reason"] = o.reason;
    if (o.result == "rolled_back") rolled_back[o.service] = o.reason;
    if (o.result == "interrupted") interrupted = true;
    services.push_back(std::move(s));
  }
  std::string result = interrupted           ? "interrupted"
                       : rolled_back.empty() ? "applied"
                                             : "rolled_back";
  std::string note = attempt.trigger;
  if (!rolled_back.empty()) {
    note += "; rolled back:";
    for (const auto& [name, reason] : rolled_back.items()) note += " " + name;
  }
  auto now_ms = core::to_unix_ms(clock_.wall_now());
  database_.append_config(store::ConfigVersion{version, now_ms, attempt.source, note});
  base["result"] = result;
  base["services"] = services;
  base["finished_ms"] = now_ms;
  if (!rolled_back.empty()) {
    rejected_ = {{"version", version},
                 {"time_ms", now_ms},
                 {"trigger", attempt.trigger},
                 {"services", rolled_back}};
    events_.publish("config.rolled_back", "", "",
                    "config version " + std::to_string(version) + " applied, but " +
                        std::to_string(rolled_back.size()) +
                        " service(s) rolled back to their previous definition",
                    {{"version", version}, {"services", rolled_back}});
  } else {
    events_.publish("config.applied", "", "",
                    "config version " + std::to_string(version) + " applied (" + result + ")",
                    {{"version", version}, {"result", result}});
  }
  last_result_ = base;
  if (hooks_.finished) hooks_.finished(running_);
  if (attempt.done) attempt.done(200, base);
  if (queued_ && !interrupted) {
    auto trigger = *queued_;
    queued_.reset();
    std::weak_ptr<bool> alive = alive_;
    scheduler_.post([this, alive, trigger] {
      if (!alive.expired()) reload_in_background(trigger);
    });
  }
}

json ConfigReloader::status() const {
  json reload = {{"in_progress", busy_}};
  if (busy_) {
    reload.update(in_progress_);
    reload["replacing"] = supervisor_.rolling_services();
  }
  if (queued_) reload["queued"] = *queued_;
  return {{"running_version", running_version_},
          {"differs_from_file", !reverted_.empty()},
          {"reverted", reverted_},
          {"rejected", rejected_},
          {"reload", reload},
          {"last_reload", last_result_}};
}

std::vector<store::ConfigVersion> ConfigReloader::stored_versions(int limit) const {
  database_.flush();
  return database_.config_history(limit);
}

json ConfigReloader::history(int limit) const {
  json versions = json::array();
  for (const auto& v : stored_versions(limit))
    versions.push_back({{"version", v.version},
                        {"time_ms", v.time_ms},
                        {"note", v.note},
                        {"bytes", v.source.size()},
                        {"running", v.version == running_version_}});
  return {{"versions", versions}, {"running_version", running_version_}};
}

void ConfigReloader::watch_file(core::Duration poll, core::Duration settle) {
  spdlog::info("--dev: watching {} for changes", options_.config_path);
  watch_ = std::make_unique<ConfigFileWatch>(
      scheduler_, options_.config_path,
      [this] {
        spdlog::info("--dev: {} changed; reloading", options_.config_path);
        reload_in_background("file change (--dev)");
      },
      poll, settle);
}

}  // namespace meshd::daemon
