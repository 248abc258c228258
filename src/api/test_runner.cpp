#include "meshd/api/test_runner.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "meshd/core/listen.hpp"

namespace meshd::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One test: connect, send, read (body capped at 1 MiB), judge.
class TestCall : public std::enable_shared_from_this<TestCall> {
 public:
  TestCall(asio::io_context& io, const config::Endpoint& gw, const config::ServiceSpec& svc,
           const config::TestSpec& test, std::function<void(TestResult)> done)
      : stream_(io), gateway_(gw), test_(test), done_(std::move(done)) {
    result_.service = svc.name;
    result_.name = test.name;
    auto limit = test.max_latency ? std::max(*test.max_latency * 2, svc.timeout) : svc.timeout;
    deadline_ = std::min(limit, config::Duration(60000));
    target_ = "/" + svc.name + (test.path.empty() || test.path[0] != '/' ? "/" : "") + test.path;
  }

  void start() {
    started_ = std::chrono::steady_clock::now();
    boost::system::error_code ec;
    auto address = core::host_address(gateway_.host, ec);
    if (ec) return finish("the gateway address is not an IP address");
    request_.method_string(test_.method);
    request_.target(target_);
    request_.version(11);
    request_.set(http::field::host, gateway_.to_string());
    request_.set(http::field::user_agent, "meshd-tests");
    for (const auto& [k, v] : test_.headers) request_.set(k, v);
    request_.body() = test_.body;
    request_.prepare_payload();
    parser_.body_limit(1024 * 1024);
    stream_.expires_after(deadline_);
    stream_.async_connect(tcp::endpoint(address, gateway_.port), [self = shared_from_this()](
                                                                     beast::error_code e) {
      if (e) return self->finish("cannot reach the gateway: " + e.message());
      http::async_write(self->stream_, self->request_, [self](beast::error_code e2, std::size_t) {
        if (e2) return self->finish("write: " + e2.message());
        http::async_read(self->stream_, self->buffer_, self->parser_,
                         [self](beast::error_code e3, std::size_t) { self->on_response(e3); });
      });
    });
  }

 private:
  void on_response(beast::error_code ec) {
    result_.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    if (ec == beast::error::timeout)
      return finish("no response within " + std::to_string(deadline_.count()) + "ms");
    if (ec) return finish("read: " + ec.message());
    const auto& res = parser_.get();
    result_.status = res.result_int();
    if (result_.status != test_.expect_status)
      return finish("status " + std::to_string(result_.status) + ", expected " +
                    std::to_string(test_.expect_status));
    if (!test_.body_contains.empty() && res.body().find(test_.body_contains) == std::string::npos)
      return finish("the body does not contain '" + test_.body_contains + "'");
    if (test_.max_latency && result_.latency_ms > static_cast<double>(test_.max_latency->count()))
      return finish("took " + std::to_string(static_cast<long long>(result_.latency_ms)) +
                    "ms, more than " + std::to_string(test_.max_latency->count()) + "ms");
    result_.passed = true;
    finish("");
  }

  void finish(std::string reason) {
    if (!done_) return;
    if (result_.latency_ms == 0)
      result_.latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
              .count();
    result_.reason = std::move(reason);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    auto done = std::move(done_);
    done_ = nullptr;
    done(result_);
  }

  beast::tcp_stream stream_;
  config::Endpoint gateway_;
  config::TestSpec test_;
  std::function<void(TestResult)> done_;
  TestResult result_;
  config::Duration deadline_{};
  std::string target_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace

nlohmann::json TestResult::to_json() const {
  return {{"service", service},       {"name", name},    {"passed", passed}, {"status", status},
          {"latency_ms", latency_ms}, {"reason", reason}};
}

TestRunner::TestRunner(asio::io_context& io, config::Endpoint gateway)
    : io_(io), gateway_(std::move(gateway)) {}

void TestRunner::run(const config::Config& config, Done done) {
  struct Batch {
    std::vector<TestResult> results;
    std::size_t pending = 0;
    Done done;
  };
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  for (const auto& svc : config.services) batch->pending += svc.tests.size();
  if (batch->pending == 0) return batch->done({});
  batch->results.resize(batch->pending);
  std::size_t slot = 0;
  for (const auto& svc : config.services)
    for (const auto& test : svc.tests) {
      std::size_t i = slot++;
      std::make_shared<TestCall>(io_, gateway_, svc, test, [batch, i](TestResult r) {
        batch->results[i] = std::move(r);
        if (--batch->pending == 0) batch->done(std::move(batch->results));
      })->start();
    }
}

}  // namespace meshd::api
