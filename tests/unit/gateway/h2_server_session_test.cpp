#include "gateway/h2_server_session.hpp"

#include <gtest/gtest.h>

namespace meshd::gateway::h2 {
namespace {

namespace http = boost::beast::http;

TEST(H2Preface, TellsHttp2FromHttp11ByTheFirstBytes) {
  EXPECT_EQ(match_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), PrefaceMatch::full);
  EXPECT_EQ(match_preface(std::string(kPreface) + "\x00\x00\x00\x04"), PrefaceMatch::full);
  EXPECT_EQ(match_preface("PRI * HTTP/2.0\r\n"), PrefaceMatch::partial);
  EXPECT_EQ(match_preface("P"), PrefaceMatch::partial);
  EXPECT_EQ(match_preface("POST /svc/x HTTP/1.1\r\n"), PrefaceMatch::no);
  EXPECT_EQ(match_preface("PRI * HTTP/2.0\r\n\r\nXY\r\n\r\n"), PrefaceMatch::no);
  EXPECT_EQ(match_preface("GET / HTTP/1.1\r\n"), PrefaceMatch::no);
}

TEST(H2cUpgrade, DecodesSettingsAsBase64url) {
  EXPECT_EQ(
      decode_base64url("AAMAAABkAAQCAAAAAAIAAAAA"),
      std::string("\x00\x03\x00\x00\x00\x64\x00\x04\x02\x00\x00\x00\x00\x02\x00\x00\x00\x00", 18));
  EXPECT_EQ(decode_base64url(""), std::string());
  EXPECT_EQ(decode_base64url("_-8"), std::string("\xff\xef", 2));
  EXPECT_FALSE(decode_base64url("AA*A"));
}

MessageHead upgrade_request() {
  MessageHead req;
  req.method = http::verb::get;
  req.method_string = "GET";
  req.target = "/svc/x";
  req.version = 11;
  req.fields = {{http::field::host, "Host", "gw:8000"},
                {http::field::connection, "Connection", "Upgrade, HTTP2-Settings"},
                {http::field::upgrade, "Upgrade", "h2c"},
                {http::field::unknown, "HTTP2-Settings", "AAMAAABk"},
                {http::field::accept, "Accept", "*/*"}};
  return req;
}

TEST(H2cUpgrade, TakesARequestThatAsksForIt) {
  auto u = h2c_upgrade(upgrade_request(), false);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->method, "GET");
  EXPECT_EQ(u->target, "/svc/x");
  EXPECT_EQ(u->authority, "gw:8000");
  EXPECT_EQ(u->settings, std::string("\x00\x03\x00\x00\x00\x64", 6));
  ASSERT_EQ(u->headers.size(), 1u);  // the upgrade's own fields and Host are not headers
  EXPECT_EQ(u->headers[0].name, "accept");
}

TEST(H2cUpgrade, LeavesOtherRequestsAlone) {
  EXPECT_FALSE(h2c_upgrade(upgrade_request(), true));  // a body: stays HTTP/1.1
  auto req = upgrade_request();
  req.fields[2].value = "websocket";
  EXPECT_FALSE(h2c_upgrade(req, false));
  req = upgrade_request();
  req.fields[1].value = "Upgrade";  // HTTP2-Settings not named in Connection
  EXPECT_FALSE(h2c_upgrade(req, false));
  req = upgrade_request();
  req.fields.erase(req.fields.begin() + 3);  // no HTTP2-Settings
  EXPECT_FALSE(h2c_upgrade(req, false));
  req = upgrade_request();
  req.version = 10;
  EXPECT_FALSE(h2c_upgrade(req, false));
  req = upgrade_request();
  req.fields.erase(req.fields.begin() + 2);  // no Upgrade
  EXPECT_FALSE(h2c_upgrade(req, false));
}

}  // namespace
}  // namespace meshd::gateway::h2
