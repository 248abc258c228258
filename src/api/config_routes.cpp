// The config's HTTP surface: what runs, its history, and the ways to
// change it (SPEC 5 and 6; docs/reload.md). The work is done by the
// daemon's ConfigReloader, through api::ConfigControl.

#include <limits>

#include "meshd/api/config_control.hpp"
#include "meshd/api/routes.hpp"
#include "meshd/config/to_json.hpp"

namespace meshd::api {
namespace {

using core::ErrorCode;

// ?wait=true|false (also 1|0); nullopt for anything else.
std::optional<bool> parse_wait(const Request& req) {
  auto it = req.query.find("wait");
  if (it == req.query.end() || it->second.empty() || it->second == "false" || it->second == "0")
    return false;
  if (it->second == "true" || it->second == "1") return true;
  return std::nullopt;
}

ConfigControl::Done answer(Respond respond) {
  return [respond = std::move(respond)](int status, nlohmann::json body) {
    respond(json_response(status, body));
  };
}

}  // namespace

void register_config_routes(Router& router, ApiContext& ctx, ConfigControl& control) {
  auto read = [&ctx](Router::Handler h) { return require_token(ctx, false, std::move(h)); };
  auto write = [&ctx](Router::Handler h) { return require_token(ctx, true, std::move(h)); };

  // The running config after overlays and command-line flags, secrets
  // redacted, with its version, the last rejected attempt and any reload
  // in progress.
  router.add("GET", "/api/v1/config",
             read([&ctx, &control](const Request&, const Params&, Respond respond) {
               nlohmann::json body = {{"config", config::to_json(*ctx.config)}};
               auto status = control.status();
               body["version"] = status["running_version"];
               body.update(status);
               respond(json_response(200, body));
             }));

  router.add(
      "POST", "/api/v1/config/reload",
      write([&control](const Request& req, const Params&, Respond respond) {
        auto wait = parse_wait(req);
        if (!wait)
          return respond(error_response(ErrorCode::invalid_argument, "wait must be true or false"));
        if (req.body.find_first_not_of(" \t\r\n") != std::string::npos)
          return respond(
              error_response(ErrorCode::invalid_argument,
                             "this reloads the file meshd was started with (-c) and takes no body; "
                             "to apply a config from the request, POST it to /admin/config"));
        control.reload_file("POST /api/v1/config/reload", *wait, answer(std::move(respond)));
      }));

  router.add(
      "POST", "/admin/config",
      write([&control](const Request& req, const Params&, Respond respond) {
        auto wait = parse_wait(req);
        if (!wait)
          return respond(error_response(ErrorCode::invalid_argument, "wait must be true or false"));
        control.reload_body(req.body, req.header("content-type"), *wait,
                            answer(std::move(respond)));
      }));

  router.add(
      "POST", "/api/v1/config/rollback",
      write([&control](const Request& req, const Params&, Respond respond) {
        auto wait = parse_wait(req);
        if (!wait)
          return respond(error_response(ErrorCode::invalid_argument, "wait must be true or false"));
        auto to = req.query.find("to");
        if (to == req.query.end())
          return respond(
              error_response(ErrorCode::invalid_argument,
                             "say which version: ?to=N (GET /api/v1/config/history lists them)"));
        auto version = parse_int(to->second, 1, std::numeric_limits<std::int64_t>::max());
        if (!version)
          return respond(
              error_response(ErrorCode::invalid_argument,
                             "to must be a version number (1 or more), got '" + to->second + "'"));
        control.rollback_to(*version, *wait, answer(std::move(respond)));
      }));

  router.add("GET", "/api/v1/config/history",
             read([&control](const Request& req, const Params&, Respond respond) {
               int limit = 50;
               if (auto it = req.query.find("limit"); it != req.query.end()) {
                 auto n = parse_int(it->second, 1, 1000);
                 if (!n)
                   return respond(error_response(ErrorCode::invalid_argument,
                                                 "limit must be a number from 1 to 1000"));
                 limit = static_cast<int>(*n);
               }
               respond(json_response(200, control.history(limit)));
             }));
}

}  // namespace meshd::api
