#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "meshd/core/listen.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/health/prober.hpp"

namespace meshd::health {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Bodies are read only when the check matches on them, and never past this:
// a health endpoint that streams megabytes must not cost meshd memory.
constexpr std::size_t kBodyLimit = 64 * 1024;

// One GET with a deadline on the scheduler that covers connect, write and
// read: when it passes, the socket is closed, which completes whatever
// operation is pending.
class HttpProbe : public std::enable_shared_from_this<HttpProbe> {
 public:
  HttpProbe(const ProbeEnv& env, const ProbeTarget& target, Prober::Done done)
      : clock_(env.scheduler.clock()),
        stream_(env.io),
        deadline_(env.scheduler),
        target_(target),
        done_(std::move(done)),
        started_(clock_.now()) {}

  void start() {
    boost::system::error_code ec;
    auto address = core::host_address(target_.host, ec);
    if (ec) return finish(HealthStatus::critical, "bad address '" + target_.host + "'");
    request_.method(http::verb::get);
    request_.target(target_.spec.path.empty() ? "/" : target_.spec.path);
    request_.version(11);
    request_.set(http::field::host, target_.host + ":" + std::to_string(target_.port));
    request_.set(http::field::user_agent, "meshd-health-check");
    request_.set(http::field::connection, "close");
    parser_.header_limit(16 * 1024);
    parser_.body_limit(kBodyLimit);
    deadline_.arm(target_.spec.timeout, [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->finish(HealthStatus::critical,
                     "HTTP GET " + self->target_.spec.path + ": timed out after " +
                         std::to_string(self->target_.spec.timeout.count()) + "ms");
    });
    stream_.async_connect(
        tcp::endpoint(address, target_.port),
        [self = shared_from_this()](beast::error_code e) { self->on_connect(e); });
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect", ec);
    http::async_write(
        stream_, request_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return fail("write", ec);
    if (target_.spec.body_contains.empty()) {
      http::async_read_header(
          stream_, buffer_, parser_,
          [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
    } else {
      http::async_read(
          stream_, buffer_, parser_,
          [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
    }
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return finish(HealthStatus::critical,
                    "HTTP GET " + target_.spec.path + ": body larger than 64 KiB");
    if (ec) return fail("read", ec);
    const auto& res = parser_.get();
    int status = res.result_int();
    std::string body = res.body().substr(0, 512);
    std::string summary = "HTTP GET " + target_.spec.path + ": " + std::to_string(status) + " " +
                          std::string(res.reason()) + (body.empty() ? "" : " Output: " + body);
    if (status < target_.spec.expect_status.low || status > target_.spec.expect_status.high)
      return finish(HealthStatus::critical, summary);
    if (!target_.spec.body_contains.empty() &&
        res.body().find(target_.spec.body_contains) == std::string::npos)
      return finish(HealthStatus::critical,
                    summary + " (body does not contain '" + target_.spec.body_contains + "')");
    finish(HealthStatus::passing, summary);
  }

  void fail(const char* what, beast::error_code ec) {
    finish(HealthStatus::critical,
           std::string("HTTP GET ") + target_.spec.path + ": " + what + ": " + ec.message());
  }

  void finish(HealthStatus status, std::string output) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    deadline_.cancel();
    beast::error_code ignored;
    stream_.close(ignored);
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(clock_.now() - started_)});
  }

  const core::TimeSource& clock_;
  tcp::socket stream_;
  core::Timer deadline_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> parser_;
  ProbeTarget target_;
  Prober::Done done_;
  core::TimePoint started_;
};

class HttpProber final : public Prober {
 public:
  HttpProber(const ProbeEnv& env, ProbeTarget target) : env_(env), target_(std::move(target)) {}
  void run(Done done) override {
    std::make_shared<HttpProbe>(env_, target_, std::move(done))->start();
  }

 private:
  ProbeEnv env_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_http_prober(const ProbeEnv& env, ProbeTarget target) {
  return std::make_unique<HttpProber>(env, std::move(target));
}

}  // namespace meshd::health
