#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// The gateway's HTTP/1.1 parsing: Beast's basic_parser does the grammar,
// limits and framing; this subclass keeps the header as views into the
// connection's read buffer instead of copying it into a beast::http::fields
// (one allocation per field, then a second copy for the forwarded message),
// and hands each piece of body to the session already framed for the other
// side. A proxy needs to look at a few fields and pass the rest on.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::gateway {

/// One header field as received: views into the read buffer.
struct HeaderField {
  boost::beast::http::field name =
      boost::beast::http::field::unknown;  // unknown for extension fields
  std::string_view name_string;
  std::string_view value;
};

/// A parsed request or response header. The views stay valid while the
/// bytes they point into are in the read buffer, that is until the session
/// consumes the header; everything that needs them runs before that.
struct MessageHead {
  // Request line.
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string_view method_string;
  std::string_view target;
  // Status line.
  int status = 0;
  std::string_view reason;
  unsigned version = 11;
  std::vector<HeaderField> fields;  // reused across messages: no allocation once warm

  void clear() {
    fields.clear();
    method = boost::beast::http::verb::unknown;
    method_string = target = reason = {};
    status = 0;
    version = 11;
  }
  /// The first value of a field, or an empty view.
  std::string_view operator[](boost::beast::http::field name) const {
    for (const auto& f : fields)
      if (f.name == name) return f.value;
    return {};
  }
  /// The first value of a field by name (case-insensitive), or an empty view.
  std::string_view operator[](std::string_view name) const;
  /// Whether the field is present at all (even with an empty value).
  bool has(std::string_view name) const;
};

/// Where a parser puts body bytes: appended to `out`, chunk-framed when
/// the outgoing message is chunked, never past `limit` bytes of `out`
/// (the parser stops and resumes on the next put), with the last chunk
/// written when the message ends.
struct BodySink {
  std::string* out = nullptr;
  std::size_t limit = 0;
  bool chunked = false;

  /// How many body bytes fit now.
  std::size_t room() const {
    constexpr std::size_t kFraming = 32;  // "<hex>\r\n" ... "\r\n" and the last chunk
    return out->size() + kFraming >= limit ? 0 : limit - out->size() - kFraming;
  }
  std::size_t append(std::string_view piece) {
    std::size_t n = std::min(piece.size(), room());
    if (n == 0) return 0;
    if (chunked) {
      char hex[20];
      auto r = std::to_chars(hex, hex + sizeof hex, n, 16);
      out->append(hex, r.ptr).append("\r\n").append(piece.data(), n).append("\r\n");
    } else {
      out->append(piece.data(), n);
    }
    return n;
  }
  void finish() {
    if (chunked) out->append("0\r\n\r\n");
  }
};

/// Beast's parser with the header kept as views and the body sent to a
/// BodySink. One per message (Beast parsers are not reusable); building
/// one allocates nothing.
template <bool isRequest>
class HeadParser final : public boost::beast::http::basic_parser<isRequest> {
 public:
  HeadParser(MessageHead& head, BodySink& sink) : head_(head), sink_(sink) {
    head_.clear();
    this->body_limit(boost::none);
  }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  static std::string_view view(string_view s) { return {s.data(), s.size()}; }

  void on_request_impl(boost::beast::http::verb method, string_view method_string,
                       string_view target, int version, error_code&) override {
    head_.method = method;
    head_.method_string = view(method_string);
    head_.target = view(target);
    head_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int code, string_view reason, int version, error_code&) override {
    head_.status = code;
    head_.reason = view(reason);
    head_.version = static_cast<unsigned>(version);
  }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code&) override {
    // Trailer fields of a chunked body come here too: they are dropped,
    // as they were when the body was re-chunked by Beast's serializer.
    if (!header_done_) head_.fields.push_back({name, view(name_string), view(value)});
  }
  void on_header_impl(error_code&) override { header_done_ = true; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    return sink_.append(view(body));
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    return sink_.append(view(body));
  }
  void on_finish_impl(error_code&) override { sink_.finish(); }

  MessageHead& head_;
  BodySink& sink_;
  bool header_done_ = false;
};

using RequestParser = HeadParser<true>;
using ResponseParser = HeadParser<false>;

}  // namespace meshd::gateway
