// Retries, failures, local error responses, deadlines and closing of a
// gateway connection (see proxy_session.hpp).
#include "meshd/core/local_reply.hpp"
#include "proxy_session.hpp"

namespace meshd::gateway::detail {

bool ProxySession::may_retry(unsigned on) const {
  const auto& r = route_->spec().retry;
  return replayable() && attempts_ < r.attempts && (r.on & on) != 0;
}

void ProxySession::upstream_failed(Outcome outcome, const std::string& what) {
  deadlines_.clear(Side::upstream);
  auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(ctx_->clock.now() - attempt_started_);
  upstream_time_ = latency;
  // A pooled connection the instance closed while idle is not the
  // instance's fault: try again on a fresh connection, uncounted.
  bool stale = reused_ && (outcome == Outcome::reset) && replayable() && !stale_retried_;
  drop_connection();
  if (stale) {
    stale_retried_ = true;
    record_result(Outcome::cancelled, latency);
    release_host();
    --attempts_;
    return attempt();
  }
  record_result(outcome, latency);
  release_host();
  last_error_ = what;
  unsigned flag = outcome == Outcome::timeout           ? config::retry_timeout
                  : outcome == Outcome::connect_failure ? config::retry_connect_failure
                                                        : config::retry_reset;
  if (may_retry(flag)) return retry();
  fail_after_attempts();
}

void ProxySession::retry() {
  auto now = ctx_->clock.now();
  if (!route_->retry_budget().try_retry(now)) {
    last_error_ += " (retry budget exhausted)";
    return fail_after_attempts();
  }
  tried_.insert(host_id_);  // the next attempt prefers another instance
  route_->stats().record_retry();
  phase_ = Phase::waiting_to_retry;
  auto delay = balancer::retry_backoff(route_->spec().retry.backoff, attempts_, ctx_->random01());
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->attempt();
  });
}

void ProxySession::fail_after_attempts() {
  bool timeout = last_outcome_ == Outcome::timeout;
  auto code = timeout ? core::ErrorCode::upstream_timeout : core::ErrorCode::upstream_failure;
  auto now = ctx_->clock.now();
  route_->stats().record(core::http_status(code),
                         std::chrono::duration_cast<std::chrono::microseconds>(now - started_),
                         now);
  std::string msg = (timeout ? "upstream timed out" : "upstream failed") + std::string(" after ") +
                    std::to_string(attempts_) + (attempts_ == 1 ? " attempt" : " attempts") +
                    (last_error_.empty() ? "" : ": " + last_error_);
  local_error(core::make_error(code, msg), reqp_->is_done() && client_keep_alive_);
}

void ProxySession::record_result(Outcome outcome, std::chrono::microseconds latency,
                                 std::optional<core::TimePoint> now) {
  // The verdict of an attempt that reached the relaying phase came with
  // its response head; every other path releases the host once recorded.
  if (!host_ || phase_ == Phase::relaying_response) return;
  if (outcome != Outcome::cancelled) last_outcome_ = outcome;
  route_->on_result(host_id_, outcome, latency, now ? *now : ctx_->clock.now());
}

void ProxySession::release_host() {
  if (host_) route_->release(*host_);
  host_.reset();
}

void ProxySession::drop_connection() {
  if (!conn_) return;
  error_code ignored;
  conn_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  conn_->socket.close(ignored);
  conn_.reset();
}

void ProxySession::abort_both() {
  record_result(Outcome::cancelled);
  release_host();
  drop_connection();
  close_client();
}

void ProxySession::local_error(const core::Error& error, bool keep_alive, int retry_after) {
  release_host();
  client_keep_alive_ = keep_alive;
  out_.clear();
  write_local_response(error, client_version_ ? client_version_ : 11, keep_alive, out_,
                       retry_after);
  close_access_record(core::http_status(error.code), error.message, out_.size());
  phase_ = Phase::replying_locally;
  write_client();
}

void ProxySession::linger() {
  phase_ = Phase::lingering;
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_send, ignored);
  linger_until_ = TimerClock::now() + core::kLingerTime;
  drain();
}

// Bounded by time, not bytes (core/lingering.hpp).
void ProxySession::drain() {
  auto left = linger_until_ - TimerClock::now();
  if (left <= TimerClock::duration::zero()) return close_client();
  set_client_deadline(std::min<TimerClock::duration>(left, core::kLingerPause));
  in_.clear();
  client_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) return self->close_client();
    self->drain();
  });
}

void ProxySession::close_client() {
  if (logging_)
    close_access_record(phase_ == Phase::relaying_response ? res_.status : 0,
                        "the connection closed before the exchange was complete");
  phase_ = Phase::closed;
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
  retry_timer_.cancel();
  deadlines_.cancel();
}

void ProxySession::on_deadline(Side side) {
  error_code ignored;
  if (side == Side::client) {
    client_.close(ignored);  // whatever waits on the client fails and ends the connection
  } else {
    upstream_timed_out_ = true;  // the waiting operation fails as a timeout
    if (conn_) conn_->socket.close(ignored);
  }
}

}  // namespace meshd::gateway::detail
