#include "gateway/proxy_headers.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_clock.hpp"
#include "gateway/input_buffer.hpp"
#include "meshd/balancer/hash.hpp"

namespace meshd::gateway {
namespace {

namespace http = boost::beast::http;

TEST(SplitTarget, TakesTheFirstSegmentAsTheService) {
  auto s = split_target("/hyperrag/api/x?y=1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service, "hyperrag");
  EXPECT_EQ(s->rest, "/api/x?y=1");
  s = split_target("/hyperrag");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rest, "");
  s = split_target("/hyperrag?q=2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rest, "?q=2");
  EXPECT_FALSE(split_target("/"));
  EXPECT_FALSE(split_target("http://evil"));  // absolute-form: "/" names no service
  EXPECT_FALSE(split_target("/Bad%20Name/x"));
  EXPECT_FALSE(split_target("*"));
}

TEST(SplitTarget, AcceptsAbsoluteForm) {
  // RFC 9112 3.2.2: a proxy must accept "http://authority/path"; the path routes.
  auto s = split_target("http://127.0.0.1:8000/hyperrag/api?x=1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service, "hyperrag");
  EXPECT_EQ(s->rest, "/api?x=1");
  s = split_target("HTTPS://gw/svc");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service, "svc");
  EXPECT_EQ(origin_form("http://h:1"), "/");
  EXPECT_EQ(origin_form("http://h:1?q"), "");
  EXPECT_EQ(origin_form("/a/b"), "/a/b");
  EXPECT_EQ(origin_form("ftp://h/a"), "ftp://h/a");
  EXPECT_FALSE(split_target("ftp://h/svc/x"));
}

// A route table with the services `names`, no instances.
struct Routes {
  testing::FakeClock clock;
  core::EventBus events{clock};
  RouteTable table{&events, 1};
  explicit Routes(std::initializer_list<const char*> names) {
    auto cfg = std::make_shared<config::Config>();
    for (const char* n : names) {
      config::ServiceSpec s;
      s.name = n;
      cfg->services.push_back(s);
    }
    table.set_config(cfg);
  }
};

TEST(ServiceFromAuthority, NamesAServiceByNameOrDotMeshWithAnyPort) {
  Routes r{"api", "web-2"};
  for (std::string_view host : {"api", "api.mesh", "api:8000", "api.mesh:8000", "API.Mesh:1",
                                "api.mesh.", "api.mesh.:80", "user@api.mesh:8000"}) {
    auto s = service_from_authority(host, r.table);
    ASSERT_TRUE(s) << host;
    EXPECT_EQ(*s, "api") << host;
  }
  auto s = service_from_authority("WEB-2.MESH", r.table);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "web-2");
}

TEST(ServiceFromAuthority, AnythingElseKeepsPrefixRouting) {
  Routes r{"api", "localhost2"};
  for (std::string_view host :
       {"", "127.0.0.1:8000", "localhost:8000", "[::1]:8000", "api.example.com", "api.mesh.com",
        "api.meshx", ".mesh", "mesh", "other.mesh", "api:port", "api:80:80", "-api", "a pi",
        "api.mesh.mesh", "api%2e.mesh"})
    EXPECT_FALSE(service_from_authority(host, r.table)) << host;
}

TEST(ServiceFromAuthority, NameWithoutTheRouteTable) {
  EXPECT_EQ(authority_service_name("Svc_1.MESH:443"), "svc_1");
  EXPECT_EQ(authority_service_name("svc"), "svc");
  EXPECT_EQ(authority_service_name("_svc"), "");
  EXPECT_EQ(authority_service_name(std::string(64, 'a')), "");
  EXPECT_EQ(authority_service_name(std::string(63, 'a') + ".mesh"), std::string(63, 'a'));
  EXPECT_EQ(authority_service_name("10.0.0.1"), "");
}

// Parses one whole message from `raw` the way the gateway does; the body
// goes to `body`, framed chunked when `chunk_out`. The raw text must
// outlive the returned head (its fields are views into it).
template <bool isRequest>
struct Parsed {
  MessageHead head;
  std::string body;
  BodySink sink;
  std::optional<HeadParser<isRequest>> parser;
  std::size_t header_bytes = 0;
  boost::beast::error_code ec;

  Parsed(std::string_view raw, bool chunk_out = false, std::size_t limit = 1 << 20) {
    sink.out = &body;
    sink.limit = limit;
    parser.emplace(head, sink);
    header_bytes = parser->put(boost::asio::buffer(raw.data(), raw.size()), ec);
    sink.chunked = chunk_out;
    raw.remove_prefix(header_bytes);
    while (!ec && !parser->is_done() && !raw.empty()) {
      auto n = parser->put(boost::asio::buffer(raw.data(), raw.size()), ec);
      if (n == 0) break;
      raw.remove_prefix(n);
    }
  }
};

std::string upstream_head(const MessageHead& in, std::string_view rest, std::uint64_t& n,
                          bool chunked = false) {
  std::string out;
  write_upstream_head(in, ForwardInfo{rest, "127.0.0.1", "abc", &n, chunked}, out);
  return out;
}

TEST(RequestAuthority, IsTheAbsoluteFormsAuthorityElseHost) {
  // RFC 9112 3.2.2: with an absolute-form target, Host is ignored.
  std::string raw = "GET http://API.mesh:8000/x HTTP/1.1\r\nHost: web.mesh\r\n\r\n";
  Parsed<true> abs(raw);
  ASSERT_FALSE(abs.ec) << abs.ec.message();
  EXPECT_EQ(request_authority(abs.head), "API.mesh:8000");
  std::string raw2 = "GET /x HTTP/1.1\r\nHost: web.mesh\r\n\r\n";
  Parsed<true> origin(raw2);
  EXPECT_EQ(request_authority(origin.head), "web.mesh");
  std::string raw3 = "GET http://api?q HTTP/1.1\r\nHost: web\r\n\r\n";
  Parsed<true> query(raw3);
  EXPECT_EQ(request_authority(query.head), "api");
  std::string raw4 = "GET /x HTTP/1.0\r\n\r\n";
  Parsed<true> none(raw4);
  EXPECT_EQ(request_authority(none.head), "");
}

TEST(UpstreamHead, DropsHopByHopAndAddsForwardingHeaders) {
  std::string raw =
      "POST /svc/x?q=1 HTTP/1.1\r\nHost: example\r\nConnection: keep-alive, X-Secret-Hop\r\n"
      "X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 10.0.0.1\r\nContent-Length: "
      "5\r\n"
      "Proxy-Authorization: basic x\r\n\r\nhello";
  Parsed<true> req(raw);
  ASSERT_FALSE(req.ec) << req.ec.message();
  std::uint64_t n = 0;
  EXPECT_EQ(upstream_head(req.head, "/x?q=1", n),
            "POST /x?q=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n"
            "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Request-Id: "
            "abc-1\r\n\r\n");
  EXPECT_EQ(req.body, "hello");
  EXPECT_EQ(n, 1u);
}

TEST(UpstreamHead, ReplacesTraceparentAndUsesTheTraceAsRequestId) {
  std::string raw =
      "GET /svc/x HTTP/1.1\r\nHost: h\r\n"
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
      "tracestate: congo=t61rcWkgMzE\r\n\r\n";
  Parsed<true> req(raw);
  ASSERT_FALSE(req.ec) << req.ec.message();
  TraceRandom random(5);
  auto trace = trace_for(req.head["traceparent"], random);
  std::uint64_t n = 0;
  std::string out;
  ForwardInfo info{"/x", "127.0.0.1", "abc", &n};
  info.trace = &trace;
  write_upstream_head(req.head, info, out);
  EXPECT_EQ(out,
            "GET /x HTTP/1.1\r\nHost: h\r\ntracestate: congo=t61rcWkgMzE\r\n"
            "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
            "X-Request-Id: 4bf92f3577b34da6a3ce929d0e0e4736\r\n"
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-" +
                trace.parent_id + "-01\r\n\r\n");
  EXPECT_EQ(n, 0u);  // no counter used
  // The client's own X-Request-Id stays.
  std::string raw2 = "GET /svc/x HTTP/1.1\r\nHost: h\r\nX-Request-Id: mine\r\n\r\n";
  Parsed<true> req2(raw2);
  out.clear();
  write_upstream_head(req2.head, info, out);
  EXPECT_NE(out.find("X-Request-Id: mine\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Request-Id: 4bf9"), std::string::npos) << out;
}

TEST(UpstreamHead, AnswersExpectItselfAndDoesNotForwardIt) {
  std::string raw =
      "PUT /svc/up HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
  Parsed<true> req(raw);
  ASSERT_FALSE(req.ec) << req.ec.message();
  EXPECT_TRUE(expects_continue(req.head));
  EXPECT_EQ(host_fields(req.head), 1);
  std::uint64_t n = 0;
  EXPECT_EQ(upstream_head(req.head, "/up", n).find("Expect"), std::string::npos);
  // HTTP/1.0 has no 100 Continue; other expectations are not ours to grant.
  std::string old = "PUT /svc/up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  Parsed<true> req10(old);
  EXPECT_FALSE(expects_continue(req10.head));
  EXPECT_EQ(host_fields(req10.head), 0);
  std::string other = "PUT /svc/up HTTP/1.1\r\nHost: a\r\nHost: b\r\nExpect: 200-ok\r\n\r\n";
  Parsed<true> req_other(other);
  EXPECT_FALSE(expects_continue(req_other.head));
  EXPECT_EQ(host_fields(req_other.head), 2);
}

TEST(UpstreamHead, KeepsTheClientsRequestIdAndProtoAndSlashesTheRest) {
  std::string raw = "GET /svc HTTP/1.1\r\nx-request-id: mine\r\nX-Forwarded-Proto: https\r\n\r\n";
  Parsed<true> req(raw);
  std::uint64_t n = 0;
  EXPECT_EQ(upstream_head(req.head, "", n),
            "GET / HTTP/1.1\r\nx-request-id: mine\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: "
            "127.0.0.1\r\n\r\n");
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(upstream_head(req.head, "?q", n).substr(0, 18), "GET /?q HTTP/1.1\r\n");
}

TEST(UpstreamHead, ReframesAChunkedBody) {
  std::string raw =
      "PUT /svc/up HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
  Parsed<true> req(raw, true);
  ASSERT_FALSE(req.ec) << req.ec.message();
  ASSERT_TRUE(req.parser->is_done());
  std::uint64_t n = 0;
  auto head = upstream_head(req.head, "/up", n, req.parser->chunked());
  EXPECT_NE(head.find("\r\nTransfer-Encoding: chunked\r\n\r\n"), std::string::npos) << head;
  EXPECT_EQ(req.body, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
}

TEST(BodySink, StopsAtItsLimitAndTheParserResumes) {
  std::string body(1000, 'x');
  std::string raw = "POST /s/x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + body;
  Parsed<true> req(raw, false, 300);
  ASSERT_FALSE(req.ec);
  EXPECT_FALSE(req.parser->is_done());
  EXPECT_LE(req.body.size(), 300u);  // flat memory: never more than the limit buffered
  std::string all = req.body;
  std::string_view rest(raw);
  rest.remove_prefix(req.header_bytes + req.body.size());
  while (!req.parser->is_done()) {
    req.body.clear();
    auto n = req.parser->put(boost::asio::buffer(rest.data(), rest.size()), req.ec);
    ASSERT_FALSE(req.ec);
    ASSERT_GT(n, 0u);
    rest.remove_prefix(n);
    all += req.body;
  }
  EXPECT_EQ(all, body);
}

TEST(RequestParser, RejectsWhatBeastRejects) {
  Parsed<true> bad("BLAH\r\n\r\n");
  EXPECT_TRUE(bad.ec);
  std::string big = "GET /s/x HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  MessageHead head;
  BodySink sink;
  RequestParser p(head, sink);
  p.header_limit(16 * 1024);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(big.data(), big.size()), ec);
  EXPECT_EQ(ec, http::error::header_limit);
}

TEST(ClientHead, AddsTheInstanceAndRechunksAnUnframedBody) {
  std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-App: yes\r\nX-Mesh-Instance: "
      "forged\r\n\r\n";
  Parsed<false> res(raw);
  ASSERT_FALSE(res.ec);
  EXPECT_TRUE(needs_chunking(res.head, false, 11));
  EXPECT_FALSE(needs_chunking(res.head, false, 10));
  EXPECT_FALSE(needs_chunking(res.head, true, 11));
  std::string out;
  write_client_head(res.head, "api-1", ClientFraming{11, true, true}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nX-App: yes\r\nX-Mesh-Instance: api-1\r\nTransfer-Encoding: "
            "chunked\r\n\r\n");
}

TEST(ClientHead, SaysConnectionWhenTheVersionsDefaultDiffers) {
  std::string raw = "HTTP/1.1 404 \r\nContent-Length: 12\r\nConnection: close\r\n\r\n";
  Parsed<false> res(raw);
  std::string out;
  write_client_head(res.head, "a", ClientFraming{11, false, false}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\nX-Mesh-Instance: a\r\nConnection: "
            "close\r\n\r\n");
  out.clear();
  write_client_head(res.head, "a", ClientFraming{10, true, false}, out);
  EXPECT_EQ(out,
            "HTTP/1.0 404 Not Found\r\nContent-Length: 12\r\nX-Mesh-Instance: a\r\nConnection: "
            "keep-alive\r\n\r\n");
  std::string no_content = "HTTP/1.1 204 No Content\r\n\r\n";
  EXPECT_FALSE(needs_chunking(Parsed<false>(no_content).head, false, 11));
}

TEST(LocalResponse, IsJsonWithItsLength) {
  std::string out;
  write_local_response(core::make_error(core::ErrorCode::unavailable, "y"), 11, false, out);
  EXPECT_EQ(
      out,
      "HTTP/1.1 503 Service Unavailable\r\nServer: meshd\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nContent-Length: "
      "46\r\n\r\n{\"error\":{\"code\":\"unavailable\",\"message\":\"y\"}}");
}

// The gateway's own answers, status and code, as docs/api.md lists them.
TEST(LocalResponse, TakesStatusAndCodeFromTheOneMapping) {
  struct Case {
    core::ErrorCode code;
    const char* status_line;
    const char* json_code;
  };
  for (const Case& c :
       {Case{core::ErrorCode::invalid_argument, "HTTP/1.1 400 Bad Request", "invalid_argument"},
        Case{core::ErrorCode::not_found, "HTTP/1.1 404 Not Found", "not_found"},
        Case{core::ErrorCode::rate_limited, "HTTP/1.1 429 Too Many Requests", "rate_limited"},
        Case{core::ErrorCode::header_fields_too_large,
             "HTTP/1.1 431 Request Header Fields Too Large", "request_header_fields_too_large"},
        Case{core::ErrorCode::upstream_failure, "HTTP/1.1 502 Bad Gateway", "upstream_failure"},
        Case{core::ErrorCode::unavailable, "HTTP/1.1 503 Service Unavailable", "unavailable"},
        Case{core::ErrorCode::upstream_timeout, "HTTP/1.1 504 Gateway Timeout",
             "upstream_timeout"}}) {
    std::string out;
    write_local_response(core::make_error(c.code, "m"), 11, true, out);
    EXPECT_EQ(out.substr(0, out.find("\r\n")), c.status_line);
    EXPECT_NE(out.find(std::string(R"({"error":{"code":")") + c.json_code + R"(","message":"m"}})"),
              std::string::npos)
        << out;
  }
}

TEST(LocalResponse, SaysRetryAfterWhenGivenOne) {
  std::string out;
  write_local_response(core::make_error(core::ErrorCode::rate_limited, "slow down"), 11, true, out,
                       3);
  EXPECT_NE(out.find("\r\nRetry-After: 3\r\n"), std::string::npos) << out;
  out.clear();
  write_local_response(core::make_error(core::ErrorCode::unavailable, "x"), 11, true, out);
  EXPECT_EQ(out.find("Retry-After"), std::string::npos) << out;
}

TEST(RateLimitKey, IsTheClientTheHeaderOrNothing) {
  std::string raw = "GET /s/x HTTP/1.1\r\nX-Tenant: acme\r\n\r\n";
  Parsed<true> req(raw);
  config::RateLimitSpec spec;
  EXPECT_EQ(rate_limit_key(spec, req.head, "1.2.3.4"), "1.2.3.4");
  spec.key = config::RateLimitSpec::Key::header;
  spec.header = "x-tenant";
  EXPECT_EQ(rate_limit_key(spec, req.head, "1.2.3.4"), "acme");
  spec.header = "X-Other";
  EXPECT_EQ(rate_limit_key(spec, req.head, "1.2.3.4"), "");
  spec.key = config::RateLimitSpec::Key::none;
  EXPECT_EQ(rate_limit_key(spec, req.head, "1.2.3.4"), "");
}

TEST(HashFor, ReadsHeaderCookieOrClientIp) {
  std::string raw = "GET /s/x HTTP/1.1\r\nX-User: alice\r\nCookie: a=1; session=xyz; b=2\r\n\r\n";
  Parsed<true> req(raw);
  config::HashKey header{config::HashKey::Kind::header, "x-user"};
  config::HashKey cookie{config::HashKey::Kind::cookie, "session"};
  config::HashKey ip{config::HashKey::Kind::client_ip, ""};
  EXPECT_EQ(hash_for(header, req.head, "1.2.3.4"), balancer::hash_key("alice"));
  EXPECT_EQ(hash_for(cookie, req.head, "1.2.3.4"), balancer::hash_key("xyz"));
  EXPECT_EQ(hash_for(ip, req.head, "1.2.3.4"), balancer::hash_key("1.2.3.4"));
  config::HashKey missing{config::HashKey::Kind::header, "X-None"};
  EXPECT_FALSE(hash_for(missing, req.head, "1.2.3.4").has_value());
}

TEST(InputBuffer, KeepsUnreadBytesInPlaceUntilAReadNeedsTheRoom) {
  InputBuffer b(8);
  auto space = b.prepare();
  std::memcpy(space.data(), "abcdefgh", 8);
  b.commit(8);
  EXPECT_TRUE(b.full());
  auto view = b.data();
  b.consume(5);
  EXPECT_EQ(view.substr(5), "fgh");  // still valid: nothing moved
  EXPECT_EQ(b.data(), "fgh");
  EXPECT_EQ(b.prepare().size(), 5u);  // now the rest moves to the front
  EXPECT_EQ(b.data(), "fgh");
  b.consume(3);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.prepare().size(), 8u);
}

}  // namespace
}  // namespace meshd::gateway
