#include <boost/asio/ip/tcp.hpp>

#include "meshd/core/listen.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/health/prober.hpp"

namespace meshd::health {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One connect attempt with a deadline on the scheduler; lives until the
// connect has completed (the deadline closes the socket, which completes it).
class TcpProbe : public std::enable_shared_from_this<TcpProbe> {
 public:
  TcpProbe(const ProbeEnv& env, const ProbeTarget& target, Prober::Done done)
      : clock_(env.scheduler.clock()),
        socket_(env.io),
        deadline_(env.scheduler),
        target_(target),
        done_(std::move(done)),
        started_(clock_.now()) {}

  void start() {
    boost::system::error_code ec;
    auto address = core::host_address(target_.host, ec);
    if (ec) return finish(HealthStatus::critical, "bad address '" + target_.host + "'");
    deadline_.arm(target_.spec.timeout, [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->finish(
            HealthStatus::critical,
            "connect timed out after " + std::to_string(self->target_.spec.timeout.count()) + "ms");
    });
    socket_.async_connect(
        tcp::endpoint(address, target_.port),
        [self = shared_from_this()](const boost::system::error_code& e) {
          if (e)
            self->finish(HealthStatus::critical, "connect " + self->target_.host + ":" +
                                                     std::to_string(self->target_.port) + ": " +
                                                     e.message());
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
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(clock_.now() - started_)});
  }

  const core::TimeSource& clock_;
  tcp::socket socket_;
  core::Timer deadline_;
  ProbeTarget target_;
  Prober::Done done_;
  core::TimePoint started_;
};

class TcpProber final : public Prober {
 public:
  TcpProber(const ProbeEnv& env, ProbeTarget target) : env_(env), target_(std::move(target)) {}
  void run(Done done) override {
    std::make_shared<TcpProbe>(env_, target_, std::move(done))->start();
  }

 private:
  ProbeEnv env_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_tcp_prober(const ProbeEnv& env, ProbeTarget target) {
  return std::make_unique<TcpProber>(env, std::move(target));
}

}  // namespace meshd::health
