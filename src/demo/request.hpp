#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// A request as the routes see it, made from the head Beast parsed, plus the
// checks Beast leaves to the application; and which failures to read a
// request are the client's fault (answered, then the connection closes) and
// which mean the client is gone (the connection just closes).

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>

namespace meshd::demo {

/// The request cannot be understood: answer `status` and close.
struct HttpError {
  int status;
  std::string reason;
};

/// The peer closed, reset or timed out: close without answering.
struct PeerGone {};

/// Parses one request; its body goes in pieces to a buffer the reader
/// names each time (see BodyReader), so a body of any size costs no memory.
using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

/// Sets the demo service's limits on a fresh parser: a head of up to 64 KiB
/// and a body of up to 1 PiB (no limit in practice, but no overflow either).
void set_limits(RequestParser& parser);

/// A parsed request head.
struct Request {
  std::string method;
  std::string target;     // as sent
  std::string path;       // target without query (and without scheme://host)
  std::string query;      // after '?', without it
  unsigned version = 11;  // 10 or 11
  bool keep_alive = true;
  bool expect_continue = false;
  boost::beast::http::fields headers;

  /// Values of header `name` (any case) joined by ", "; empty when absent.
  std::string header(std::string_view name) const;
  /// Value of `key` in the query string, if present.
  bool query_param(std::string_view key, std::string& value) const;
};

/// The request in `head`, after the checks Beast does not make: version
/// 1.0 or 1.1 (else 505), a target of at most 8 KiB (else 414) in origin,
/// absolute or asterisk form, at most 100 fields (else 431), and a
/// Transfer-Encoding, if any, that is exactly "chunked" on HTTP/1.1: any
/// doubt about where a body ends is refused (RFC 9112 section 6.3) rather
/// than guessed. Throws HttpError.
Request make_request(const RequestParser::value_type& head);

/// Throws what a failed read means: PeerGone when the peer closed, reset or
/// timed out, else HttpError. `parser` tells a request line too long (414)
/// from header fields too large (431); `unparsed`, what the read buffer
/// still holds, tells an HTTP version other than 1.x (505) from garbage.
[[noreturn]] void throw_read_failure(const boost::beast::error_code& ec,
                                     const RequestParser& parser, std::string_view unparsed);

}  // namespace meshd::demo
