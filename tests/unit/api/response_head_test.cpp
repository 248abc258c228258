#include "api/response_head.hpp"

#include <gtest/gtest.h>

namespace meshd::api {
namespace {

HeadOptions options(unsigned version, bool keep_alive, std::string_view cors_origin = {}) {
  HeadOptions o;
  o.version = version;
  o.keep_alive = keep_alive;
  o.cors_origin = cors_origin;
  return o;
}

TEST(ResponseHead, StatusLineHeadersAndLength) {
  Response r;
  r.headers.emplace_back("X-Mesh-Index", "42");
  EXPECT_EQ(response_head(r, 17, {}),
            "HTTP/1.1 200 OK\r\n"
            "Server: meshd\r\n"
            "Content-Type: application/json\r\n"
            "X-Mesh-Index: 42\r\n"
            "Content-Length: 17\r\n"
            "\r\n");
}

TEST(ResponseHead, ClosingAnHttp11Connection) {
  Response r;
  r.status = 413;
  std::string head = response_head(r, 5, options(11, false));
  EXPECT_TRUE(head.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << head;
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
}

TEST(ResponseHead, Http10KeepsTheConnectionOnlyWhenTold) {
  Response r;
  std::string kept = response_head(r, 0, options(10, true));
  EXPECT_TRUE(kept.starts_with("HTTP/1.0 200 OK\r\n")) << kept;
  EXPECT_NE(kept.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << kept;
  std::string closed = response_head(r, 0, options(10, false));
  EXPECT_EQ(closed.find("Connection:"), std::string::npos) << closed;
}

TEST(ResponseHead, NoContentLengthWhereThereIsNoBody) {
  for (int status : {101, 204, 304}) {
    Response r;
    r.status = status;
    EXPECT_EQ(response_head(r, 0, {}).find("Content-Length"), std::string::npos) << status;
    EXPECT_TRUE(status_has_no_body(status));
  }
  EXPECT_FALSE(status_has_no_body(200));
  EXPECT_FALSE(status_has_no_body(404));
}

TEST(ResponseHead, CorsHeadersForAnAllowedOrigin) {
  Response r;
  std::string head = response_head(r, 2, options(11, true, "http://ui.local"));
  EXPECT_NE(head.find("\r\nAccess-Control-Allow-Origin: http://ui.local\r\n"), std::string::npos)
      << head;
  EXPECT_NE(head.find("\r\nVary: Origin\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nAccess-Control-Expose-Headers: X-Mesh-Index, X-Mesh-Stale\r\n"),
            std::string::npos)
      << head;
  EXPECT_EQ(response_head(r, 2, {}).find("Access-Control"), std::string::npos);
}

// A prepared answer is the bytes a keep-alive HTTP/1.1 client gets, and
// holds its body once: the fields for other connections have none.
TEST(PrepareResponse, WireIsHeadThenBodyAndTheBodyIsHeldOnce) {
  Response r;
  r.body = R"({"instances":[]})";
  r.headers.emplace_back("X-Mesh-Index", "7");
  auto p = prepare_response(r);
  EXPECT_EQ(p->wire, response_head(r, r.body.size(), {}) + r.body);
  EXPECT_EQ(p->body(), r.body);
  EXPECT_EQ(Response(p).body_text(), r.body);
  EXPECT_TRUE(p->response.body.empty());
  EXPECT_EQ(p->response.shared_body, nullptr);
  EXPECT_EQ(p->response.headers, r.headers);

  Response shared;
  shared.shared_body = std::make_shared<const std::string>("abc");
  EXPECT_EQ(prepare_response(shared)->body(), "abc");

  Response none;
  none.status = 204;
  auto q = prepare_response(none);
  EXPECT_EQ(q->wire, response_head(none, 0, {}));
  EXPECT_TRUE(q->body().empty());
}

TEST(ResponseHead, StaleAddsTheHeaderAndExposesItToBrowsers) {
  Response r;
  HeadOptions stale;
  stale.stale = true;
  EXPECT_NE(response_head(r, 0, stale).find("\r\nX-Mesh-Stale: true\r\n"), std::string::npos);
  EXPECT_EQ(response_head(r, 0, {}).find("X-Mesh-Stale"), std::string::npos);
  stale.cors_origin = "http://ui.example";
  EXPECT_NE(
      response_head(r, 0, stale).find("Access-Control-Expose-Headers: X-Mesh-Index, X-Mesh-Stale"),
      std::string::npos);
}

TEST(Hangup, FiresOnceAndNotAfterForget) {
  int fired = 0;
  Hangup h;
  h.on_hangup([&] { ++fired; });
  h.fire();
  h.fire();
  EXPECT_EQ(fired, 1);
  h.on_hangup([&] { ++fired; });
  h.forget();
  h.fire();
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace meshd::api
