// The access log's record of each request through a gateway connection
// (see proxy_session.hpp and meshd/gateway/access_log.hpp).
#include "proxy_session.hpp"

namespace meshd::gateway::detail {

void ProxySession::open_access_record(std::size_t header_bytes) {
  if (!reset_access_record(header_bytes)) return;
  // Copied now: the head's views end when the session consumes it.
  access_.method.assign(req_.method_string);
  access_.path.assign(req_.target);
  access_.protocol = req_.version >= 11 ? "HTTP/1.1" : "HTTP/1.0";
}

void ProxySession::open_unparsed_access_record(std::size_t bytes_read) {
  // A request the parser refused has no method or path to log; its line
  // still records the client, the status and the bytes read.
  started_ = ctx_->clock.now();
  if (reset_access_record(bytes_read)) access_.protocol = "HTTP/1.1";
}

bool ProxySession::reset_access_record(std::size_t bytes_in) {
  // What belonged to the previous request on this connection goes.
  service_.clear();
  host_id_.clear();
  trace_.trace_id.clear();
  attempts_ = 0;
  bytes_in_ = bytes_in;
  bytes_out_ = 0;
  upstream_time_ = {};
  logging_ = ctx_->options.access_log != nullptr;
  if (!logging_) return false;
  access_ = AccessRecord{};
  access_.time = ctx_->clock.wall_now();
  access_.client = client_ip_;
  return true;
}

void ProxySession::close_access_record(int status, std::string_view error, std::size_t unsent) {
  if (!logging_) return;
  logging_ = false;
  access_.service = service_;
  access_.instance = host_id_;
  access_.status = status;
  access_.bytes_in = bytes_in_;
  access_.bytes_out = bytes_out_ + unsent;
  access_.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(ctx_->clock.now() - started_).count();
  access_.upstream_us = upstream_time_.count();
  access_.retries = std::max(attempts_ - 1, 0);
  access_.trace_id = trace_.trace_id;
  access_.error.assign(error);
  ctx_->options.access_log->write(std::move(access_));
}

}  // namespace meshd::gateway::detail
