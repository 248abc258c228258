#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "meshd/health/prober.hpp"

namespace meshd::health {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One connect attempt with a deadline; lives until both the connect and the
// timer have completed.
class TcpProbe : public std::enable_shared_from_this<TcpProbe> {
 public:
  TcpProbe(asio::io_context& io, const ProbeTarget& target, Prober::Done done)
      : socket_(io), timer_(io), target_(target), done_(std::move(done)),
        started_(std::chrono::steady_clock::now()) {}

  void start() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(target_.host == "localhost" ? "127.0.0.1" : target_.host, ec);
    if (ec) return finish(HealthStatus::critical, "bad address '" + target_.host + "'");
    timer_.expires_after(target_.spec.timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
        self->finish(HealthStatus::critical, "connect timed out after " +
                                                 std::to_string(self->target_.spec.timeout.count()) + "ms");
      }
    });
    socket_.async_connect(tcp::endpoint(address, target_.port),
                          [self = shared_from_this()](const boost::system::error_code& e) {
                            self->timer_.cancel();
                            if (e)
                              self->finish(HealthStatus::critical, "connect " + self->target_.host + ":" +
                                                                       std::to_string(self->target_.port) +
                                                                       ": " + e.message());
                            else
                              self->finish(HealthStatus::passing, "TCP connect " + self->target_.host + ":" +
                                                                      std::to_string(self->target_.port) + ": ok");
                          });
  }

 private:
  void finish(HealthStatus status, std::string output) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    boost::system::error_code ignored;
    socket_.close(ignored);
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(std::chrono::steady_clock::now() - started_)});
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  ProbeTarget target_;
  Prober::Done done_;
  std::chrono::steady_clock::time_point started_;
};

class TcpProber final : public Prober {
 public:
  TcpProber(asio::io_context& io, ProbeTarget target) : io_(io), target_(std::move(target)) {}
  void run(Done done) override { std::make_shared<TcpProbe>(io_, target_, std::move(done))->start(); }

 private:
  asio::io_context& io_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_tcp_prober(asio::io_context& io, ProbeTarget target) {
  return std::make_unique<TcpProber>(io, std::move(target));
}

}  // namespace meshd::health
