// One request through a real Gateway on 127.0.0.1:0 to an instance that
// answers after the fake clock has moved: what the gateway measures comes
// from the clock it was given, not from steady_clock.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "fakes/fake_clock.hpp"
#include "meshd/gateway/gateway.hpp"

namespace meshd::gateway {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// An instance that reads one request head, advances `clock` by `delay`
// (the time it "takes"), and answers 200 "ok".
class SlowInstance {
 public:
  SlowInstance(asio::io_context& io, testing::FakeClock& clock, core::Duration delay)
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        socket_(io),
        clock_(clock),
        delay_(delay) {
    acceptor_.async_accept(socket_, [this](boost::system::error_code ec) {
      if (!ec) read();
    });
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void read() {
    asio::async_read_until(socket_, request_, "\r\n\r\n",
                           [this](boost::system::error_code ec, std::size_t) {
                             if (ec) return;
                             clock_.advance(delay_);
                             asio::async_write(socket_, asio::buffer(kResponse),
                                               [](boost::system::error_code, std::size_t) {});
                           });
  }

  static constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  asio::streambuf request_;
  testing::FakeClock& clock_;
  core::Duration delay_;
};

TEST(ProxySession, MeasuresRequestsOnTheGatewaysClock) {
  asio::io_context io;
  testing::FakeClock clock;
  core::EventBus events{clock};
  SlowInstance instance(io, clock, 250ms);

  auto cfg = std::make_shared<config::Config>();
  config::ServiceSpec spec;
  spec.name = "api";
  cfg->services.push_back(spec);
  registry::Registry registry;
  registry.set_services({"api"});
  registry::InstanceRecord r;
  r.id = "api-0";
  r.service = "api";
  r.address = "127.0.0.1";
  r.port = instance.port();
  r.origin = registry::Origin::registered;
  r.health = health::HealthStatus::passing;
  registry.upsert(r);
  RouteTable routes(&events, 7);
  routes.set_config(cfg);
  auto route = routes.find("api");
  route->update(registry, clock.now());

  Gateway gateway(io, routes, clock, [] { return 0.5; });
  auto bound = gateway.listen({"127.0.0.1", 0});

  tcp::socket client(io);
  std::string response;
  client.async_connect(
      tcp::endpoint(asio::ip::make_address(bound.host), bound.port),
      [&](boost::system::error_code ec) {
        if (ec) return io.stop();  // the status check below fails
        static constexpr std::string_view kRequest =
            "GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        asio::async_write(
            client, asio::buffer(kRequest), [&](boost::system::error_code, std::size_t) {
              asio::async_read(
                  client, asio::dynamic_buffer(response),
                  [&](boost::system::error_code, std::size_t) {
                    gateway.stop();  // the response ran to the end of the connection: done
                    io.stop();
                  });
            });
      });
  io.run_for(10s);

  ASSERT_EQ(response.substr(0, response.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(response.substr(response.size() - 2), "ok");
  EXPECT_EQ(route->stats().requests(), 1u);
  // The request took the instance's 250 ms of fake time, to the microsecond.
  EXPECT_DOUBLE_EQ(route->stats().latency_sum_seconds(), 0.25);
  EXPECT_DOUBLE_EQ(route->host("api-0")->latency_ewma_ms(), 250.0);
}

}  // namespace
}  // namespace meshd::gateway
