// The nghttp2 callbacks of an HTTP/2 client connection (see
// h2_server_session.hpp): a stream begins with its request headers, its
// body is appended as DATA arrives, and the response body is handed to
// nghttp2 from the stream's buffer as it fills.
#include <cstring>

#include "h2_server_session.hpp"

namespace meshd::gateway::h2 {

namespace {

ServerSession& self_of(void* user_data) {
  return *static_cast<ServerSession*>(user_data);
}

}  // namespace

int ServerSession::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = self_of(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_shared<Stream>();
  s->id = frame->hd.stream_id;
  s->session = self.weak_from_this();
  self.streams_.emplace(s->id, std::move(s));
  self.any_stream_ = true;
  return 0;
}

int ServerSession::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                             void* user) {
  auto& self = self_of(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto it = self.streams_.find(frame->hd.stream_id);
  if (it == self.streams_.end()) return 0;
  auto& s = *it->second;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // request trailers: dropped
  // nghttp2 has checked the names (lower case, pseudo-headers first and known).
  if (n == ":method")
    s.method.assign(v);
  else if (n == ":scheme")
    s.scheme.assign(v);
  else if (n == ":authority")
    s.authority.assign(v);
  else if (n == ":path")
    s.path.assign(v);
  else if (n.empty() || n[0] == ':')
    return 0;
  else {
    if (n == "content-type") s.content_type.assign(v);
    if (n == "grpc-timeout") s.grpc_timeout.assign(v);
    if (n == "host" && s.authority.empty()) s.authority.assign(v);
    s.headers.push_back({std::string(n), std::string(v)});
  }
  return 0;
}

int ServerSession::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(frame->hd.stream_id);
  if (it == self.streams_.end()) return 0;
  auto s = it->second;  // a copy: on_request may close the stream
  bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->body_complete = end;
    self.on_request(*s);
  } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end) {
    s->body_complete = true;
    if (s->call) s->call->request_body_ready();
  }
  return 0;
}

int ServerSession::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                                 const uint8_t* data, size_t len, void* user) {
  auto& self = self_of(user);
  nghttp2_session_consume_connection(session, len);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return 0;
  auto& s = *it->second;
  if (s.responded && !s.call) {
    // Answered already (an error of the gateway's own): the rest of the
    // body is read and dropped, so the client can finish sending it.
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  s.body.append(reinterpret_cast<const char*>(data), len);
  s.body_received += len;
  if (s.call) s.call->request_body_ready();
  return 0;
}

int ServerSession::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return 0;
  auto s = std::move(it->second);
  self.streams_.erase(it);
  s->closed = true;
  if (s->call) s->call->cancel();
  s->call.reset();
  self.record_result(*s, Outcome::cancelled);
  self.release_host(*s);
  self.log_stream(*s, "HTTP/2");
  return 0;
}

ssize_t ServerSession::read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                          size_t length, uint32_t* flags, nghttp2_data_source*,
                                          void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  auto& s = *it->second;
  std::size_t n = std::min(length, s.res_pending());
  std::memcpy(buf, s.res_body.data() + s.res_off, n);
  s.res_off += n;
  s.bytes_out += n;
  if (s.res_off == s.res_body.size()) {
    s.res_body.clear();
    s.res_off = 0;
  }
  if (n > 0 && s.call) s.call->response_consumed(n);
  if (s.res_pending() == 0 && s.res_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s.trailers.empty()) {
      std::vector<nghttp2_nv> nv;
      for (auto& h : s.trailers)
        nv.push_back({reinterpret_cast<uint8_t*>(h.name.data()),
                      reinterpret_cast<uint8_t*>(h.value.data()), h.name.size(), h.value.size(),
                      NGHTTP2_NV_FLAG_NONE});
      if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

}  // namespace meshd::gateway::h2
