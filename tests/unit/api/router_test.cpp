#include "meshd/api/router.hpp"

#include <gtest/gtest.h>

namespace meshd::api {
namespace {

Request req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

Response call(const Router& router, const Request& r) {
  Response out;
  bool called = false;
  router.dispatch(r, [&](Response res) {
    out = std::move(res);
    called = true;
  });
  EXPECT_TRUE(called);
  return out;
}

Router make_router() {
  Router router;
  router.add("GET", "/api/v1/services/{name}",
             [](const Request&, const Params& p, Respond respond) {
               respond(json_response(200, {{"name", p.at("name")}}));
             });
  router.add("POST", "/api/v1/services/{name}/start",
             [](const Request&, const Params& p, Respond respond) {
               respond(json_response(202, {{"started", p.at("name")}}));
             });
  router.add(
      "GET", "/api/v1/services/{name}/logs",
      [](const Request&, const Params&, Respond respond) { respond(json_response(200, {})); });
  return router;
}

TEST(Router, MatchesParametersAndMethods) {
  auto router = make_router();
  auto r = call(router, req("GET", "/api/v1/services/hyperrag"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["name"], "hyperrag");
  EXPECT_EQ(call(router, req("POST", "/api/v1/services/x/start")).status, 202);
}

TEST(Router, WrongMethodIs405WithAllow) {
  auto router = make_router();
  auto r = call(router, req("DELETE", "/api/v1/services/x/logs"));
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "method_not_allowed");
}

TEST(Router, UnknownPathIs404InTheErrorShape) {
  auto router = make_router();
  auto r = call(router, req("GET", "/api/v1/nothing/here"));
  EXPECT_EQ(r.status, 404);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

TEST(Router, HeadIsServedByGetRoutes) {
  auto router = make_router();
  EXPECT_EQ(call(router, req("HEAD", "/api/v1/services/x")).status, 200);
}

TEST(Query, DecodesEscapesAndRejectsBadOnes) {
  std::map<std::string, std::string> q;
  ASSERT_TRUE(parse_query("tail=10&stream=std%6Fut&x=a+b&flag", q));
  EXPECT_EQ(q["tail"], "10");
  EXPECT_EQ(q["stream"], "stdout");
  EXPECT_EQ(q["x"], "a b");
  EXPECT_EQ(q.count("flag"), 1u);
  std::map<std::string, std::string> bad;
  EXPECT_FALSE(parse_query("a=%zz", bad));
  EXPECT_FALSE(parse_query("a=%4", bad));
  std::string out;
  EXPECT_FALSE(percent_decode("%", out, false));
}

TEST(Errors, MapEachCodeToOneStatus) {
  EXPECT_EQ(http_status(core::ErrorCode::invalid_argument), 400);
  EXPECT_EQ(http_status(core::ErrorCode::unauthorized), 401);
  EXPECT_EQ(http_status(core::ErrorCode::not_found), 404);
  EXPECT_EQ(http_status(core::ErrorCode::conflict), 409);
  EXPECT_EQ(http_status(core::ErrorCode::payload_too_large), 413);
  EXPECT_EQ(http_status(core::ErrorCode::unavailable), 503);
}

}  // namespace
}  // namespace meshd::api
