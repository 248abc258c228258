#include "../../../src/gateway/proxy_headers.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"
#include "meshd/balancer/hash.hpp"

namespace meshd::gateway {
namespace {

namespace http = boost::beast::http;

TEST(SplitTarget, TakesTheFirstSegmentAsTheService) {
  std::string svc, rest;
  ASSERT_TRUE(split_target("/hyperrag/api/x?y=1", svc, rest));
  EXPECT_EQ(svc, "hyperrag");
  EXPECT_EQ(rest, "/api/x?y=1");
  ASSERT_TRUE(split_target("/hyperrag", svc, rest));
  EXPECT_EQ(rest, "/");
  ASSERT_TRUE(split_target("/hyperrag?q=2", svc, rest));
  EXPECT_EQ(rest, "/?q=2");
  EXPECT_FALSE(split_target("/", svc, rest));
  EXPECT_FALSE(split_target("http://evil/x", svc, rest));
  EXPECT_FALSE(split_target("/Bad%20Name/x", svc, rest));
  EXPECT_FALSE(split_target("*", svc, rest));
}

struct Ctx {
  boost::asio::io_context io;
  testing::FakeClock clock;
  core::EventBus events{clock};
  RouteTable routes{&events, 1};
  GatewayContext ctx{io, routes, clock, [] { return 0.5; }, GatewayOptions{}};
};

TEST(UpstreamRequest, DropsHopByHopAndAddsForwardingHeaders) {
  Ctx c;
  c.ctx.request_id_prefix = "abc";
  ProxyRequest in;
  in.method(http::verb::post);
  in.target("/svc/x");
  in.set(http::field::host, "example");
  in.set(http::field::connection, "keep-alive, X-Secret-Hop");
  in.set("X-Secret-Hop", "1");
  in.set("Keep-Alive", "timeout=5");
  in.set("X-Forwarded-For", "10.0.0.1");
  in.set(http::field::content_length, "5");
  ProxyRequest out;
  build_upstream_request(in, "/x", c.ctx, "127.0.0.1", out);
  EXPECT_EQ(out.target(), "/x");
  EXPECT_EQ(out.method(), http::verb::post);
  EXPECT_EQ(out["X-Secret-Hop"], "");
  EXPECT_EQ(out["Keep-Alive"], "");
  EXPECT_EQ(out[http::field::host], "example");
  EXPECT_EQ(out["X-Forwarded-For"], "10.0.0.1, 127.0.0.1");
  EXPECT_EQ(out["X-Forwarded-Proto"], "http");
  EXPECT_EQ(out["X-Request-Id"], "abc-1");
  EXPECT_EQ(out[http::field::content_length], "5");

  in.set("X-Request-Id", "mine");
  build_upstream_request(in, "/x", c.ctx, "127.0.0.1", out);
  EXPECT_EQ(out["X-Request-Id"], "mine");
}

TEST(ClientResponse, AddsTheInstanceAndRechunksAnUnframedBody) {
  ProxyResponse in;
  in.result(200);
  in.set(http::field::transfer_encoding, "chunked");
  in.set("X-App", "yes");
  ProxyResponse out;
  build_client_response(in, 11, "api-1", out);
  EXPECT_EQ(out["X-Mesh-Instance"], "api-1");
  EXPECT_EQ(out["X-App"], "yes");
  EXPECT_TRUE(out.chunked());
  ProxyResponse sized;
  sized.result(200);
  sized.set(http::field::content_length, "12");
  build_client_response(sized, 11, "api-1", out);
  EXPECT_FALSE(out.chunked());
  EXPECT_EQ(out[http::field::content_length], "12");
}

TEST(HashFor, ReadsHeaderCookieOrClientIp) {
  ProxyRequest req;
  req.set("X-User", "alice");
  req.set(http::field::cookie, "a=1; session=xyz; b=2");
  config::HashKey header{config::HashKey::Kind::header, "X-User"};
  config::HashKey cookie{config::HashKey::Kind::cookie, "session"};
  config::HashKey ip{config::HashKey::Kind::client_ip, ""};
  EXPECT_EQ(hash_for(header, req, "1.2.3.4"), balancer::hash_key("alice"));
  EXPECT_EQ(hash_for(cookie, req, "1.2.3.4"), balancer::hash_key("xyz"));
  EXPECT_EQ(hash_for(ip, req, "1.2.3.4"), balancer::hash_key("1.2.3.4"));
  config::HashKey missing{config::HashKey::Kind::header, "X-None"};
  EXPECT_FALSE(hash_for(missing, req, "1.2.3.4").has_value());
}

}  // namespace
}  // namespace meshd::gateway
