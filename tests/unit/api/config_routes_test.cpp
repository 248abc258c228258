// The config routes check their arguments and hand the work to an
// api::ConfigControl (the daemon's ConfigReloader), whose answer they send.

#include <gtest/gtest.h>

#include "meshd/api/config_control.hpp"
#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

// Records what it was asked and answers with a status the test chooses.
class FakeControl final : public ConfigControl {
 public:
  void reload_file(const std::string& trigger, bool wait, Done done) override {
    calls.push_back("reload_file " + trigger + (wait ? " wait" : ""));
    done(answer_status, {{"answered", "reload_file"}});
  }
  void reload_body(const std::string& body, const std::string& content_type, bool wait,
                   Done done) override {
    calls.push_back("reload_body " + body + " " + content_type + (wait ? " wait" : ""));
    done(answer_status, {{"answered", "reload_body"}});
  }
  void rollback_to(std::int64_t version, bool wait, Done done) override {
    calls.push_back("rollback_to " + std::to_string(version) + (wait ? " wait" : ""));
    done(answer_status, {{"answered", "rollback_to"}});
  }
  nlohmann::json status() const override { return {{"running_version", 7}, {"reloading", false}}; }
  nlohmann::json history(int limit) const override { return {{"limit", limit}}; }

  std::vector<std::string> calls;
  int answer_status = 202;
};

struct Fixture {
  ApiContext ctx;
  FakeControl control;
  Router router;

  Fixture() {
    ctx.config = std::make_shared<config::Config>();
    register_config_routes(router, ctx, control);
  }

  Response call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& content_type = "") {
    Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) parse_query(target.substr(q + 1), req.query);
    req.body = body;
    if (!content_type.empty()) req.headers["content-type"] = content_type;
    std::optional<Response> out;
    router.dispatch(req, [&out](Response r) { out = std::move(r); });
    EXPECT_TRUE(out) << target;
    return out ? *out : Response{};
  }
};

nlohmann::json body_of(const Response& r) {
  return nlohmann::json::parse(r.body_text());
}

TEST(ConfigRoutes, HandTheWorkToTheControlAndSendItsAnswer) {
  Fixture f;
  auto r = f.call("POST", "/api/v1/config/reload?wait=true");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body_of(r)["answered"], "reload_file");
  f.control.answer_status = 400;
  EXPECT_EQ(f.call("POST", "/admin/config", "mesh: {}", "application/yaml").status, 400);
  f.control.answer_status = 200;
  EXPECT_EQ(f.call("POST", "/api/v1/config/rollback?to=3").status, 200);
  EXPECT_EQ(f.control.calls,
            (std::vector<std::string>{"reload_file POST /api/v1/config/reload wait",
                                      "reload_body mesh: {} application/yaml", "rollback_to 3"}));
  EXPECT_EQ(body_of(f.call("GET", "/api/v1/config/history?limit=5")),
            nlohmann::json({{"limit", 5}}));
  auto config = body_of(f.call("GET", "/api/v1/config"));
  EXPECT_EQ(config["version"], 7);
  EXPECT_EQ(config["running_version"], 7);
  EXPECT_TRUE(config.contains("config"));
}

TEST(ConfigRoutes, BadArgumentsAreRefusedBeforeTheControlIsAsked) {
  Fixture f;
  for (auto [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/api/v1/config/reload?wait=maybe", ""},
           {"POST", "/api/v1/config/reload", "mesh: {}"},
           {"POST", "/admin/config?wait=2", "mesh: {}"},
           {"POST", "/api/v1/config/rollback", ""},
           {"POST", "/api/v1/config/rollback?to=0", ""},
           {"POST", "/api/v1/config/rollback?to=x", ""},
           {"GET", "/api/v1/config/history?limit=0", ""},
       }) {
    auto r = f.call(method, target, body);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(body_of(r)["error"]["code"], "invalid_argument") << target;
  }
  EXPECT_TRUE(f.control.calls.empty());
}

}  // namespace
}  // namespace meshd::api
