// h2c to instances: the pool of connections, and a call started on one
// (see h2_upstream.hpp; a connection itself is in h2_upstream_connection.cpp).
#include "h2_upstream.hpp"

#include <map>
#include <vector>

#include "h2_upstream_connection.hpp"
#include "trace_context.hpp"

namespace meshd::gateway::h2 {

using error_code = boost::system::error_code;
using upstream::Call;
using upstream::Connection;

// The connections of one gateway thread, by instance: calls share one
// until it carries its limit of streams, then another opens.
class UpstreamPool : public std::enable_shared_from_this<UpstreamPool> {
 public:
  std::shared_ptr<Connection> get(GatewayContext& ctx, const balancer::Host& host) {
    std::string key = host.address + ':' + std::to_string(host.port);
    auto& list = conns_[key];
    std::erase_if(list, [](const auto& c) { return c->dead(); });
    for (auto& c : list)
      if (c->usable()) return c;
    std::weak_ptr<UpstreamPool> pool = shared_from_this();
    auto c = std::make_shared<Connection>(ctx, [pool, key](const Connection* dead) {
      if (auto p = pool.lock()) p->remove(key, dead);
    });
    list.push_back(c);
    c->connect(host.address, host.port);
    return c;
  }
  void remove(const std::string& key, const Connection* conn) {
    auto it = conns_.find(key);
    if (it == conns_.end()) return;
    std::erase_if(it->second, [conn](const auto& c) { return c.get() == conn; });
    if (it->second.empty()) conns_.erase(it);
  }

 private:
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> conns_;
};

Headers forward_headers(const Stream& s, const std::string& client_ip) {
  Headers out;
  out.reserve(s.headers.size() + 3);
  std::string xff;
  bool has_proto = false, has_id = false;
  for (const auto& h : s.headers) {
    const auto& n = h.name;
    if (n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
        n == "transfer-encoding" || n == "upgrade" || n == "host" ||
        (n == "te" && h.value != "trailers"))
      continue;
    if (n == "x-forwarded-for") {
      xff = h.value;
      continue;
    }
    if (n == "traceparent") continue;
    if (n == "x-forwarded-proto") has_proto = true;
    if (n == "x-request-id" && !h.value.empty()) has_id = true;
    out.push_back(h);
  }
  // This hop's span in the client's trace, or a new trace (set when the
  // stream was routed), as on the HTTP/1.1 path.
  out.push_back({"traceparent", s.trace.traceparent()});
  if (!xff.empty()) xff += ", ";
  xff += client_ip;
  out.push_back({"x-forwarded-for", std::move(xff)});
  if (!has_proto) out.push_back({"x-forwarded-proto", "http"});
  if (!has_id) out.push_back({"x-request-id", s.trace.trace_id});
  return out;
}

std::shared_ptr<UpstreamCall> start_h2_call(GatewayContext& ctx, std::shared_ptr<Stream> stream,
                                            const balancer::Host& host,
                                            std::chrono::steady_clock::duration timeout,
                                            const std::string& client_ip) {
  if (!ctx.h2_pool) ctx.h2_pool = std::make_shared<UpstreamPool>();
  auto conn = ctx.h2_pool->get(ctx, host);
  auto call = std::make_shared<Call>(ctx, std::move(stream), conn);
  std::weak_ptr<Call> weak = call;
  call->deadline_.expires_after(timeout);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  call->deadline_.async_wait([weak, ms](error_code ec) {
    auto c = weak.lock();
    if (ec || !c || c->finished_) return;
    if (c->id_ > 0) c->conn_->rst(c->id_);
    c->fail(Outcome::timeout, "no response within " + std::to_string(ms) + "ms");
  });
  conn->submit(call, host.address + ':' + std::to_string(host.port), client_ip);
  return call;
}

}  // namespace meshd::gateway::h2
