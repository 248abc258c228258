// What happens to each stream (see h2_stream_router.hpp).
#include "h2_stream_router.hpp"

#include <boost/asio/steady_timer.hpp>
#include <charconv>

#include "grpc.hpp"
#include "h2_h1_call.hpp"
#include "h2_upstream.hpp"
#include "meshd/core/local_reply.hpp"
#include "meshd/core/text.hpp"
#include "meshd/gateway/access_log.hpp"
#include "proxy_headers.hpp"
#include "rate_limiter.hpp"

namespace meshd::gateway::h2 {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

std::string number(long long n) {
  char buf[24];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

}  // namespace

void StreamRouter::on_request(Stream& s) {
  auto now = ctx_->clock.now();
  s.started = now;
  if (ctx_->options.access_log) s.wall_started = ctx_->clock.wall_now();
  std::string_view incoming_trace;
  for (const auto& h : s.headers)
    if (h.name == "traceparent") incoming_trace = h.value;
  set_trace(incoming_trace, thread_trace_random(), s.trace);
  s.grpc = grpc::is_grpc(s.content_type);
  if (s.grpc && !s.grpc_timeout.empty()) {
    if (auto t = grpc::parse_timeout(s.grpc_timeout))
      s.grpc_deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(*t);
  }
  if (auto named = service_from_authority(s.authority, ctx_->routes)) {
    s.service.assign(*named);
    s.upstream_path = s.path;
  } else if (auto split = split_target(s.path)) {
    s.service.assign(split->service);
    if (split->rest.empty() || split->rest.front() != '/') s.upstream_path = "/";
    s.upstream_path.append(split->rest);
  } else if (s.grpc) {
    // A gRPC path has no room for a prefix: the authority was meant to
    // name the service, and names none.
    auto host = std::string_view(s.authority).substr(0, s.authority.rfind(':'));
    return local_error(s, core::make_error(core::ErrorCode::not_found,
                                           "no service named '" + std::string(host) + "'"));
  } else {
    return local_error(s, core::make_error(core::ErrorCode::invalid_argument,
                                           "the path must be /<service>/<path>, or :authority "
                                           "a service's name"));
  }
  s.route = ctx_->routes.find(s.service);
  if (!s.route)
    return local_error(
        s, core::make_error(core::ErrorCode::not_found, "no service named '" + s.service + "'"));
  // The request's fields as a MessageHead (views into the stream's own
  // strings) for the key functions the HTTP/1.1 path uses.
  MessageHead head;
  auto keyed = [&] {
    if (head.fields.empty())
      for (const auto& h : s.headers)
        head.fields.push_back({boost::beast::http::string_to_field(h.name), h.name, h.value});
    return &head;
  };
  if (RateLimiter* limiter = s.route->rate_limiter()) {
    int retry_after = 0;
    if (!limiter->admit(rate_limit_key(limiter->spec(), *keyed(), client_ip_), now, retry_after)) {
      s.route->stats().record_rate_limited();
      s.route->stats().record(429, std::chrono::microseconds(0), now);
      return local_error(s, rate_limited_error(s.service, limiter->spec(), retry_after),
                         retry_after);
    }
  }
  s.route->retry_budget().on_request(now);
  if (s.route->spec().load_balancer == config::LoadBalancerPolicy::consistent_hash)
    s.hash = hash_for(s.route->spec().hash_key, *keyed(), client_ip_);
  attempt(s);
}

void StreamRouter::attempt(Stream& s) {
  ++s.attempts;
  auto now = ctx_->clock.now();
  auto pick = s.route->pick(balancer::PickContext{now, s.hash}, s.tried);
  if (!pick && !s.tried.empty()) pick = s.route->pick(balancer::PickContext{now, s.hash});
  if (!pick) {
    if (s.attempts == 1) {
      s.route->stats().record_rejected();
      s.route->stats().record(core::http_status(pick.error().code), std::chrono::microseconds(0),
                              now);
      return local_error(s, pick.error());
    }
    return fail_after_attempts(s);
  }
  s.host = pick->host;
  s.host_id = s.host->id;
  s.verdict = false;
  ++s.host->active_requests;
  s.attempt_started = now;
  auto timeout = std::chrono::duration_cast<SteadyClock::duration>(s.route->spec().timeout);
  if (s.grpc_deadline) {
    auto left = *s.grpc_deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) {
      s.last_outcome = Outcome::timeout;
      s.last_error = "the call's grpc-timeout has passed";
      release_host(s);
      return fail_after_attempts(s);
    }
    timeout = std::min(timeout, left);
  }
  auto self = shared(s);
  if (s.route->spec().protocol == config::Protocol::http2)
    s.call = start_h2_call(*ctx_, self, *s.host, timeout, client_ip_);
  else
    s.call = start_h1_call(*ctx_, self, *s.host, timeout, client_ip_);
}

bool StreamRouter::may_retry(const Stream& s, unsigned on) const {
  const auto& r = s.route->spec().retry;
  if (s.responded || !s.replayable() || s.attempts >= r.attempts || (r.on & on) == 0) return false;
  // A gRPC call is a POST: only the methods declared idempotent go again.
  if (s.grpc) return grpc::method_matches(s.upstream_path, r.grpc_methods);
  return idempotent(s.method);
}

void StreamRouter::on_upstream_failed(Stream& s, Outcome outcome, std::string what) {
  if (s.closed) return;
  s.call.reset();
  record_result(s, outcome);
  release_host(s);
  s.last_error = std::move(what);
  if (s.head_held) {  // nothing of it reached the client
    s.head_held = false;
    s.held_headers.clear();
    s.res_body.clear();
    s.res_off = 0;
  }
  if (s.responded) return break_off(s, outcome);
  unsigned flag = outcome == Outcome::timeout           ? config::retry_timeout
                  : outcome == Outcome::connect_failure ? config::retry_connect_failure
                                                        : config::retry_reset;
  if (may_retry(s, flag)) return retry(s);
  fail_after_attempts(s);
}

// The response has begun, so only this stream can say it broke off: a gRPC
// call ends with its status in trailers (what grpcio, Envoy and Linkerd
// give: DEADLINE_EXCEEDED for a timeout, UNAVAILABLE for the instance
// failing) after the messages already relayed; anything else is reset.
void StreamRouter::break_off(Stream& s, Outcome outcome) {
  bool timeout = outcome == Outcome::timeout;
  if (timeout) s.last_outcome = Outcome::timeout;  // the verdict itself came with the head
  s.error = (timeout ? "upstream timed out mid-response: " : "upstream failed mid-response: ") +
            s.last_error;
  if (!s.grpc || !trailers_reach_client(s) || s.res_end) return reset(s);
  auto status = timeout ? grpc::Status::deadline_exceeded : grpc::Status::unavailable;
  s.trailers = {{"grpc-status", number(static_cast<int>(status))},
                {"grpc-message", grpc::percent_encode(s.error)}};
  s.res_end = true;
  body_ready(s);
}

void StreamRouter::retry(Stream& s) {
  auto now = ctx_->clock.now();
  if (!s.route->retry_budget().try_retry(now)) {
    s.last_error += " (retry budget exhausted)";
    return fail_after_attempts(s);
  }
  s.tried.insert(s.host_id);
  s.route->stats().record_retry();
  auto delay = balancer::retry_backoff(s.route->spec().retry.backoff, s.attempts, ctx_->random01());
  auto timer = std::make_shared<asio::steady_timer>(ctx_->io, delay);
  std::weak_ptr<Stream> weak = shared(s);
  timer->async_wait([timer, weak, self = keep()](boost::system::error_code ec) {
    auto stream = weak.lock();
    if (ec || !stream || stream->closed || !self) return;
    self->attempt(*stream);
  });
}

void StreamRouter::fail_after_attempts(Stream& s) {
  bool timeout = s.last_outcome == Outcome::timeout;
  auto code = timeout ? core::ErrorCode::upstream_timeout : core::ErrorCode::upstream_failure;
  auto now = ctx_->clock.now();
  s.route->stats().record(core::http_status(code),
                          std::chrono::duration_cast<std::chrono::microseconds>(now - s.started),
                          now);
  std::string msg = (timeout ? "upstream timed out" : "upstream failed") + std::string(" after ") +
                    std::to_string(s.attempts) + (s.attempts == 1 ? " attempt" : " attempts") +
                    (s.last_error.empty() ? "" : ": " + s.last_error);
  local_error(s, core::make_error(code, msg));
}

void StreamRouter::local_error(Stream& s, const core::Error& error, int retry_after) {
  if (s.closed) return;
  s.error = error.message;
  if (s.responded) return reset(s);
  if (s.grpc) {
    // Trailers-only (gRPC's PROTOCOL-HTTP2.md): the status in the headers.
    Headers h{{"content-type", "application/grpc"},
              {"grpc-status", number(static_cast<int>(grpc::status_for(error.code)))},
              {"grpc-message", grpc::percent_encode(core::error_body(error))}};
    s.status = 200;
    return respond(s, 200, h, false);
  }
  s.res_body = core::error_body(error);
  s.res_off = 0;
  s.res_end = true;
  Headers h{{"content-type", "application/json"},
            {"content-length", number(static_cast<long long>(s.res_body.size()))}};
  if (retry_after > 0) h.push_back({"retry-after", number(retry_after)});
  s.status = core::http_status(error.code);
  s.bytes_out += s.res_body.size();
  respond(s, s.status, h, true);
}

void StreamRouter::on_response_head(Stream& s, int status, Headers headers, bool end_stream) {
  if (s.closed) return;
  if (s.grpc && !end_stream) {
    // Held until the first body byte or the end comes with it: a call
    // whose instance dies in between has sent the client nothing yet and
    // may still go to another instance.
    s.held_status = status;
    s.held_headers = std::move(headers);
    s.head_held = true;
    return;
  }
  relay_head(s, status, std::move(headers), end_stream);
}

bool StreamRouter::release_head(Stream& s) {
  s.head_held = false;
  relay_head(s, s.held_status, std::move(s.held_headers), false);
  return s.responded && !s.closed;
}

void StreamRouter::on_response_data(Stream& s) {
  if (s.closed) return;
  if (s.head_held && !release_head(s)) return;
  body_ready(s);
}

void StreamRouter::relay_head(Stream& s, int status, Headers headers, bool end_stream) {
  auto now = ctx_->clock.now();
  if (status >= 500 && may_retry(s, config::retry_5xx)) {
    if (s.call) s.call->cancel();
    s.call.reset();
    s.res_body.clear();
    s.res_off = 0;
    record_result(s, Outcome::http_5xx);
    release_host(s);
    s.last_error = "HTTP " + std::to_string(status);
    return retry(s);
  }
  record_result(s, status >= 500 ? Outcome::http_5xx : Outcome::success);
  s.route->stats().record(
      status, std::chrono::duration_cast<std::chrono::microseconds>(now - s.started), now);
  headers.push_back({"x-mesh-instance", s.host_id});
  s.status = status;
  s.upstream_time = std::chrono::duration_cast<std::chrono::microseconds>(now - s.attempt_started);
  if (end_stream) {
    s.res_end = true;
    s.call.reset();
    release_host(s);
  }
  respond(s, status, headers, !end_stream);
}

void StreamRouter::on_response_end(Stream& s, Headers trailers) {
  if (s.closed) return;
  if (s.head_held && !release_head(s)) return;
  s.trailers = std::move(trailers);
  s.res_end = true;
  s.call.reset();
  release_host(s);
  body_ready(s);
}

void StreamRouter::record_result(Stream& s, Outcome outcome) {
  if (!s.host || s.verdict || !s.route) return;
  s.verdict = true;
  if (outcome != Outcome::cancelled) s.last_outcome = outcome;
  auto now = ctx_->clock.now();
  s.route->on_result(s.host_id, outcome,
                     std::chrono::duration_cast<std::chrono::microseconds>(now - s.attempt_started),
                     now);
}

void StreamRouter::release_host(Stream& s) {
  if (s.host) --s.host->active_requests;
  s.host.reset();
}

void StreamRouter::log_stream(Stream& s, std::string_view protocol) {
  if (s.logged || !ctx_->options.access_log || s.started == core::TimePoint{}) return;
  s.logged = true;
  AccessRecord r;
  r.time = s.wall_started;
  r.service = s.service;
  r.instance = s.status != 0 && s.error.empty() ? s.host_id : std::string();
  r.method = s.method;
  r.path = s.path;
  r.status = s.status;
  r.bytes_in = s.body_received;
  r.bytes_out = s.bytes_out;
  r.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(ctx_->clock.now() - s.started).count();
  r.upstream_us = s.upstream_time.count();
  r.retries = std::max(s.attempts - 1, 0);
  r.trace_id = s.trace.trace_id;
  r.protocol.assign(protocol);
  r.client = client_ip_;
  r.error = s.error.empty() && s.status == 0 ? s.last_error : s.error;
  ctx_->options.access_log->write(std::move(r));
}

}  // namespace meshd::gateway::h2
