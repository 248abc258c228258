#include "paced_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>

#include "proc_cpu.hpp"

namespace meshd::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::nanoseconds(std::llround(s * 1e9));
}

// One run: all handlers capture `this`, which outlives io.run().
class PacedClient {
 public:
  PacedClient(asio::io_context& io, const ClientOptions& options, ClientResult& result)
      : io_(io), options_(options), result_(result), tick_(io), drain_(io), bound_(io) {
    total_ = static_cast<std::uint64_t>(std::llround(options.rate * options.seconds));
    result_.latency_us.reserve(total_);
  }

  void start() {
    bound_.expires_after(
        seconds(options_.connect_seconds + options_.seconds + options_.drain_seconds + 2));
    bound_.async_wait([this](error_code ec) {
      if (ec) return;
      if (!started_) result_.error = "could not connect within the time allowed";
      if (started_ && !finished_) record_end();
      for (auto& c : conns_) beast::get_lowest_layer(c->ws).close();
      tick_.cancel();
      drain_.cancel();
    });
    tcp::endpoint target(asio::ip::make_address(options_.host), options_.port);
    for (int i = 0; i < options_.connections; ++i) {
      conns_.push_back(std::make_unique<Conn>(io_));
      connect(*conns_.back(), target);
    }
  }

 private:
  struct Conn {
    explicit Conn(asio::io_context& io) : ws(io) {}
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer in;
    std::string out;
    std::deque<std::pair<std::uint64_t, Clock::time_point>> queue;  // (sequence, due)
    bool writing = false;
  };

  void connect(Conn& c, const tcp::endpoint& target) {
    beast::get_lowest_layer(c.ws).expires_after(seconds(options_.connect_seconds));
    beast::get_lowest_layer(c.ws).async_connect(target, [this, &c](error_code ec) {
      if (ec) return fail_start("connect", ec);
      beast::get_lowest_layer(c.ws).socket().set_option(tcp::no_delay(true), ec);
      auto host = options_.host + ":" + std::to_string(options_.port);
      c.ws.async_handshake(host, options_.path, [this, &c](error_code e) {
        if (e) return fail_start("handshake", e);
        beast::get_lowest_layer(c.ws).expires_never();
        c.ws.set_option(websocket::stream_base::timeout{seconds(options_.drain_seconds + 1),
                                                        websocket::stream_base::none(), false});
        c.ws.binary(true);
        c.ws.read_message_max(1 << 24);
        read(c);
        if (++connected_ == conns_.size()) start_schedule();
      });
    });
  }

  void fail_start(const char* what, error_code ec) {
    if (!result_.error.empty()) return;
    result_.error = std::string(what) + ": " + ec.message();
    for (auto& c : conns_) beast::get_lowest_layer(c->ws).close();
    bound_.cancel();
  }

  void start_schedule() {
    started_ = true;
    for (int pid : options_.cpu_pids) result_.cpu_s.push_back(process_cpu_seconds(pid));
    start_ = Clock::now();
    on_tick();
  }

  Clock::time_point due(std::uint64_t i) const {
    return start_ + seconds(static_cast<double>(i) / options_.rate);
  }

  // Hands every message whose time has come to its connection, then sleeps
  // until the next one is due. A late wake-up sends the overdue ones at
  // once; their latency still counts from their due time.
  void on_tick() {
    auto now = Clock::now();
    while (next_ < total_ && due(next_) <= now) {
      auto& c = *conns_[next_ % conns_.size()];
      c.queue.emplace_back(next_, due(next_));
      if (!c.writing) write_next(c);
      ++next_;
    }
    if (next_ < total_) {
      tick_.expires_at(due(next_));
      tick_.async_wait([this](error_code ec) {
        if (!ec) on_tick();
      });
      return;
    }
    drain_.expires_after(seconds(options_.drain_seconds));
    drain_.async_wait([this](error_code ec) {
      if (!ec) finish();
    });
    if (result_.received >= total_) finish();
  }

  void write_next(Conn& c) {
    auto [sequence, when] = c.queue.front();
    c.queue.pop_front();
    std::int64_t due_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    c.out.assign(options_.size, 'x');
    std::memcpy(c.out.data(), &sequence, 8);
    std::memcpy(c.out.data() + 8, &due_ns, 8);
    c.writing = true;
    c.ws.async_write(asio::buffer(c.out), [this, &c](error_code ec, std::size_t) {
      c.writing = false;
      if (ec) return failed(ec);
      ++result_.sent;
      if (!c.queue.empty()) write_next(c);
    });
  }

  void read(Conn& c) {
    c.ws.async_read(c.in, [this, &c](error_code ec, std::size_t n) {
      if (ec) return failed(ec);
      auto now = Clock::now();
      if (n != options_.size) {
        ++result_.corrupt;
      } else {
        std::int64_t due_ns = 0;
        std::memcpy(&due_ns, static_cast<const char*>(c.in.data().data()) + 8, 8);
        auto sent_at = Clock::time_point(std::chrono::nanoseconds(due_ns));
        double us = std::chrono::duration<double, std::micro>(now - sent_at).count();
        if (us > worst_us_) {
          worst_us_ = us;
          result_.worst_at_s = std::chrono::duration<double>(sent_at - start_).count();
        }
        result_.latency_us.push_back(us);
      }
      c.in.consume(c.in.size());
      ++result_.received;
      if (next_ >= total_ && result_.received >= total_) return finish();
      read(c);
    });
  }

  void failed(error_code ec) {
    if (finished_ || !result_.first_failure.empty()) return;
    result_.first_failure = ec.message();
  }

  // Stops the run: reads the CPU times, closes every connection politely
  // (the close handshake is bounded by the stream's timeout) and lets
  // io.run() return once they are closed.
  void finish() {
    if (finished_) return;
    record_end();
    tick_.cancel();
    drain_.cancel();
    for (auto& c : conns_) {
      c->ws.async_close(websocket::close_code::normal, [this, &c = *c](error_code) {
        beast::get_lowest_layer(c.ws).close();
        if (++closed_ == conns_.size()) bound_.cancel();
      });
    }
  }

  void record_end() {
    finished_ = true;
    result_.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
    for (std::size_t i = 0; i < options_.cpu_pids.size(); ++i)
      result_.cpu_s[i] = process_cpu_seconds(options_.cpu_pids[i]) - result_.cpu_s[i];
  }

  asio::io_context& io_;
  const ClientOptions& options_;
  ClientResult& result_;
  std::vector<std::unique_ptr<Conn>> conns_;
  asio::steady_timer tick_, drain_, bound_;
  Clock::time_point start_;
  std::uint64_t total_ = 0, next_ = 0;
  double worst_us_ = 0;
  std::size_t connected_ = 0, closed_ = 0;
  bool started_ = false, finished_ = false;
};

}  // namespace

ClientResult run_client(const ClientOptions& options) {
  ClientResult result;
  asio::io_context io(1);
  PacedClient client(io, options, result);
  client.start();
  io.run();
  return result;
}

}  // namespace meshd::bench
