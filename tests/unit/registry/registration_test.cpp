#include "meshd/registry/registration.hpp"

#include <gtest/gtest.h>

namespace meshd::registry {
namespace {

using nlohmann::json;

json good() {
  return {{"service", "pg"},
          {"address", "127.0.0.1"},
          {"port", 5432},
          {"tags", {"primary"}},
          {"check", {{"type", "tcp"}, {"interval", "2s"}}}};
}

TEST(Registration, ParsesAndDefaultsTheId) {
  auto r = Registration::from_json(good());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->id, "pg-127.0.0.1-5432");
  EXPECT_EQ(r->check.type, config::CheckType::tcp);
  EXPECT_EQ(r->check.interval.count(), 2000);
  EXPECT_EQ(r->tags, std::vector<std::string>{"primary"});
}

TEST(Registration, RoundTripsThroughItsJson) {
  auto body = good();
  body["id"] = "pg-1";
  body["metadata"] = {{"zone", "a"}};
  body["check"] = {
      {"type", "http"}, {"path", "/ready"}, {"expect_status", "200-299"}, {"ttl", "5s"}};
  auto r = Registration::from_json(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto again = Registration::from_json(r->to_json());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->to_json(), r->to_json());
  EXPECT_EQ(again->check.path, "/ready");
  EXPECT_EQ(again->check.expect_status.high, 299);
}

TEST(Registration, EveryBadFieldIsNamed) {
  struct Case {
    std::function<void(json&)> edit;
    std::string needle;
  };
  std::vector<Case> cases = {
      {[](json& b) { b.erase("service"); }, "'service'"},
      {[](json& b) { b["service"] = 3; }, "'service'"},
      {[](json& b) { b.erase("port"); }, "'port'"},
      {[](json& b) { b["port"] = 0; }, "'port'"},
      {[](json& b) { b["port"] = 70000; }, "'port'"},
      {[](json& b) { b["port"] = "5432"; }, "'port'"},
      {[](json& b) { b["address"] = "127.0.0.1:5432"; }, "without a port"},
      {[](json& b) { b["address"] = "bad host!"; }, "'address'"},
      {[](json& b) { b["id"] = "has space"; }, "'id'"},
      {[](json& b) { b["weight"] = 0; }, "weight"},
      {[](json& b) { b["tags"] = "primary"; }, "'tags'"},
      {[](json& b) {
         b["metadata"] = {{"n", 1}};
       },
       "metadata.n"},
      {[](json& b) { b["helth"] = 1; }, "unknown field 'helth'"},
      {[](json& b) { b["check"]["type"] = "exec"; }, "exec is not allowed"},
      {[](json& b) { b["check"]["type"] = "smtp"; }, "check.type"},
      {[](json& b) { b["check"]["interval"] = "often"; }, "check.interval"},
      {[](json& b) { b["check"]["interval"] = "10ms"; }, "at least 100ms"},
      {[](json& b) { b["check"]["unhealthy_threshold"] = 0; }, "unhealthy_threshold"},
      {[](json& b) { b["check"]["path"] = "health"; }, "check.path"},
      {[](json& b) { b["check"]["expect_status"] = "600"; }, "expect_status"},
      {[](json& b) { b["check"]["command"] = "rm -rf /"; }, "unknown field 'command'"},
  };
  for (const auto& c : cases) {
    auto body = good();
    c.edit(body);
    auto r = Registration::from_json(body);
    ASSERT_FALSE(r.ok()) << c.needle;
    EXPECT_EQ(r.error().code, core::ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(Registration::from_json(json::array()).ok());
}

}  // namespace
}  // namespace meshd::registry
