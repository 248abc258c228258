#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// The write loop both ends of the gateway's HTTP/2 share (the client
// connection, h2_server_session.hpp, and a connection to an instance,
// h2_upstream_connection.hpp): what nghttp2_session_mem_send gives is
// gathered into one batch of up to 64 KiB and written; when that write
// completes the loop runs again, until nghttp2 has nothing more to send.
// Only one write is in flight; a flush asked for meanwhile waits for it.
//
// A base class for the connection (CRTP), which provides:
//   Socket& socket();  nghttp2_session* h2();
//   bool may_write() const;            // false once closed (or not yet connected)
//   void on_send_failed(int rv);       // nghttp2_session_mem_send failed: close
//   void on_nothing_to_send();         // the batch came out empty
//   void on_written(error_code ec);    // a write completed (or failed: close)
// and std::enable_shared_from_this, so that a write keeps it alive.

#include <nghttp2/nghttp2.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <string>

namespace meshd::gateway::h2 {

template <class Connection>
class H2Writer {
 public:
  /// Queues a flush on the loop, once however often it is asked for before
  /// it runs: calls made while nghttp2 processes input send together.
  void schedule_flush() {
    auto& self = connection();
    if (flush_queued_ || !self.may_write()) return;
    flush_queued_ = true;
    boost::asio::post(self.socket().get_executor(), [keep = self.shared_from_this()] {
      H2Writer& writer = *keep;
      writer.flush_queued_ = false;
      writer.flush();
    });
  }

  /// Writes what nghttp2 has to send now, unless a write is in flight
  /// (whose completion flushes again).
  void flush() {
    auto& self = connection();
    if (writing_ || !self.may_write()) return;
    out_.clear();
    out_.swap(first_);
    while (out_.size() < kWriteBatch) {
      const uint8_t* data;
      auto n = nghttp2_session_mem_send(self.h2(), &data);
      if (n < 0) return self.on_send_failed(static_cast<int>(n));
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out_.empty()) return self.on_nothing_to_send();
    writing_ = true;
    boost::asio::async_write(
        self.socket(), boost::asio::buffer(out_),
        [keep = self.shared_from_this()](boost::system::error_code ec, std::size_t) {
          H2Writer& writer = *keep;
          writer.writing_ = false;
          if (!keep->may_write()) return;
          keep->on_written(ec);
          if (!ec) writer.flush();
        });
  }

  /// Bytes written before any frame of the next flush (the `101
  /// Switching Protocols` of an h2c upgrade).
  void write_first(std::string bytes) { first_ = std::move(bytes); }
  void drop_first() { first_.clear(); }

  bool writing() const { return writing_; }

 private:
  static constexpr std::size_t kWriteBatch = 64 * 1024;

  Connection& connection() { return static_cast<Connection&>(*this); }

  std::string out_, first_;
  bool writing_ = false, flush_queued_ = false;
};

}  // namespace meshd::gateway::h2
