// X-Mesh-Stale through the real HTTP server on 127.0.0.1: every answer
// carries it while the catalog is stale, a prepared (shared) answer too,
// and none does once the catalog is reachable again.

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "meshd/api/http_server.hpp"

namespace meshd::api {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct Server {
  asio::io_context io;
  Router router;
  bool stale = false;
  std::unique_ptr<HttpServer> server;
  config::Endpoint bound;
  std::thread loop;

  Server() {
    router.add("GET", "/plain", [](const Request&, const Params&, Respond respond) {
      respond(json_response(200, {{"ok", true}}));
    });
    // A prepared answer, as discover's cache gives: its wire bytes are
    // built without the connection's options.
    auto prepared = [] {
      Response r = json_response(200, {{"cached", true}});
      r.headers.emplace_back("X-Mesh-Index", "7");
      return prepare_response(std::move(r));
    }();
    router.add("GET", "/prepared", [prepared](const Request&, const Params&, Respond respond) {
      respond(Response(prepared));
    });
    HttpServerOptions options;
    options.stale = [this] { return stale; };
    server = std::make_unique<HttpServer>(io, router, options);
    bound = server->listen({"127.0.0.1", 0});
  }

  // One request on a fresh connection, the loop run until it is answered.
  http::response<http::string_body> get(const std::string& target) {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), bound.port});
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    // The server answers on the loop; the reply is read after it ran.
    for (int i = 0; i < 200; ++i) {
      io.run_for(std::chrono::milliseconds(5));
      if (socket.available() > 0) break;
    }
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }

  ~Server() { server->stop(); }
};

TEST(StaleHeader, EveryAnswerCarriesItWhileTheCatalogIsStale) {
  Server s;
  auto fresh = s.get("/plain");
  EXPECT_EQ(fresh.result_int(), 200);
  EXPECT_EQ(fresh.count("X-Mesh-Stale"), 0u);

  s.stale = true;
  for (const char* target : {"/plain", "/prepared", "/no-such-route"}) {
    auto res = s.get(target);
    EXPECT_EQ(res["X-Mesh-Stale"], "true") << target;
  }
  auto prepared = s.get("/prepared");
  EXPECT_EQ(prepared["X-Mesh-Index"], "7");  // the prepared answer's own headers stay
  EXPECT_EQ(prepared.body(), R"({"cached":true})");

  s.stale = false;
  EXPECT_EQ(s.get("/prepared").count("X-Mesh-Stale"), 0u);
  EXPECT_EQ(s.get("/plain").count("X-Mesh-Stale"), 0u);
}

}  // namespace
}  // namespace meshd::api
