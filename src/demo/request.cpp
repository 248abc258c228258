#include "request.hpp"

#include <cstdint>
#include <iterator>

#include "meshd/core/text.hpp"

namespace meshd::demo {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t max_request_line = 8 * 1024;
constexpr std::uint32_t max_head = 64 * 1024;
constexpr std::size_t max_fields = 100;
constexpr std::uint64_t max_body = std::uint64_t{1} << 50;

// The path and query of a target; false when it is neither origin-form
// ("/p?q"), absolute-form ("http://host/p?q", as sent to proxies) nor "*".
bool split_target(std::string_view target, Request& r) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    target.remove_prefix(target.find("//") + 2);
    const auto slash = target.find('/');
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target != "*" && !target.starts_with('/')) return false;
  const auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  r.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  return true;
}

}  // namespace

void set_limits(RequestParser& parser) {
  parser.header_limit(max_head);
  parser.body_limit(max_body);
}

std::string Request::header(std::string_view name) const {
  std::string joined;
  for (auto [it, end] = headers.equal_range({name.data(), name.size()}); it != end; ++it) {
    if (!joined.empty()) joined += ", ";
    joined += it->value();
  }
  return joined;
}

bool Request::query_param(std::string_view key, std::string& value) const {
  std::string_view rest(query);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      value = eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
      return true;
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

Request make_request(const RequestParser::value_type& head) {
  Request r;
  r.method = std::string(head.method_string());
  r.target = std::string(head.target());
  if (head.version() != 10 && head.version() != 11)
    throw HttpError{505, "unsupported HTTP version"};
  r.version = head.version();
  if (r.target.size() > max_request_line) throw HttpError{414, "request target too long"};
  if (!split_target(r.target, r)) throw HttpError{400, "malformed request target"};
  if (static_cast<std::size_t>(std::distance(head.begin(), head.end())) > max_fields) {
    throw HttpError{431, "too many header fields"};
  }
  r.headers = head;  // http::fields, without the start line
  for (auto [it, end] = head.equal_range(http::field::transfer_encoding); it != end; ++it) {
    // Beast reads a body as chunked only when "chunked" comes last, and
    // "gzip" alone would leave the body unread, taken for the next request.
    if (!core::iequals(it->value(), "chunked"))
      throw HttpError{400, "unsupported Transfer-Encoding"};
    if (r.version == 10) throw HttpError{400, "chunked body in HTTP/1.0"};
  }
  r.keep_alive = head.keep_alive();
  r.expect_continue = r.version == 11 && core::iequals(r.header("expect"), "100-continue");
  return r;
}

void throw_read_failure(const boost::beast::error_code& ec, const RequestParser& parser,
                        std::string_view unparsed) {
  const bool parse_error =
      ec.category() == http::make_error_code(http::error::bad_target).category();
  if (!parse_error || ec == http::error::end_of_stream || ec == http::error::partial_message)
    throw PeerGone{};
  if (ec == http::error::header_limit) {
    // Beast fills in the target once it has the whole request line.
    if (parser.get().target().empty()) throw HttpError{414, "request line too long"};
    throw HttpError{431, "header fields too large"};
  }
  if (ec == http::error::bad_version) {
    std::string_view line = unparsed.substr(0, unparsed.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    const std::string_view version = line.substr(line.rfind(' ') + 1);
    if (version.starts_with("HTTP/") && version.size() == 8)
      throw HttpError{505, "unsupported HTTP version"};
  }
  if (ec == http::error::body_limit) throw HttpError{413, "body too large"};
  throw HttpError{400, ec.message()};
}

}  // namespace meshd::demo
