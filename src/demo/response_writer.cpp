#include "response_writer.hpp"

#include <algorithm>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdint>
#include <string_view>

namespace meshd::demo {

namespace http = boost::beast::http;

void write_response(TimedSocket& socket, const Request& request, const Response& response,
                    bool keep_alive, const std::string& instance) {
  const bool streamed = response.stream_bytes > 0;
  const std::uint64_t length = streamed ? response.stream_bytes : response.body.size();
  // 204 and 304 never have a body, and 204 must not even announce one.
  const bool bodiless_status = response.status == 204 || response.status == 304;

  http::response<http::buffer_body> message;
  message.version(11);
  message.result(static_cast<unsigned>(response.status));
  message.set("X-Demo-Instance", instance);
  message.set(http::field::content_type, response.content_type);
  if (!bodiless_status) message.content_length(length);
  if (!keep_alive) {
    message.set(http::field::connection, "close");
  } else if (request.version == 10) {
    message.set(http::field::connection, "keep-alive");
  }

  // A stream is `length` bytes of filler sent a piece at a time, so that
  // /bytes?n=100000000 costs 64 KiB of memory, not 100 MB.
  static const std::string filler(64 * 1024, 'x');
  const std::string_view source =
      streamed ? std::string_view(filler) : std::string_view(response.body);
  std::uint64_t left = request.method != "HEAD" && !bodiless_status ? length : 0;
  std::uint64_t sent = 0;

  http::response_serializer<http::buffer_body> serializer(message);
  boost::beast::error_code ec;
  message.body().data = nullptr;
  message.body().more = left > 0;
  http::write_header(socket, serializer, ec);
  while (!ec && !serializer.is_done()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, source.size()));
    // buffer_body's pointer is not const because parsers write through it;
    // the serializer only reads.
    message.body().data =
        n > 0 ? const_cast<char*>(source.data() + (streamed ? 0 : sent)) : nullptr;
    message.body().size = n;
    message.body().more = left > n;
    left -= n;
    sent += n;
    http::write(socket, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
  }
  if (ec) throw PeerGone{};
}

void write_error(TimedSocket& socket, const HttpError& error, const std::string& instance) {
  Request request;
  request.method = "GET";
  const Response response{error.status, "text/plain; charset=utf-8", error.reason + "\n", 0};
  try {
    write_response(socket, request, response, false, instance);
  } catch (const PeerGone&) {
  }
}

}  // namespace meshd::demo
