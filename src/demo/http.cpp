#include "http.hpp"

#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

namespace meshd::demo {
namespace {

constexpr std::size_t max_request_line = 8 * 1024;
constexpr std::size_t max_header_line = 8 * 1024;
constexpr std::size_t max_headers = 100;
constexpr std::size_t max_chunk_line = 1024;
constexpr std::uint64_t max_body = std::uint64_t{1} << 50;  // 1 PiB: "no limit", no overflow

bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

// Field values may hold visible characters, spaces, tabs and obs-text.
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_token(std::string_view list, std::string_view token) {
  const std::string l = lower(list);
  std::string_view rest(l);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    if (trim(rest.substr(0, comma)) == token) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

void parse_request_line(const std::string& line, Request& r) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.find(' ', sp2 + 1) != std::string::npos) {
    throw HttpError{400, "malformed request line"};
  }
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = line.substr(sp2 + 1);
  if (!is_token(r.method)) throw HttpError{400, "malformed method"};
  if (version == "HTTP/1.1") {
    r.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    r.minor_version = 0;
  } else if (version.starts_with("HTTP/") && version.size() == 8) {
    throw HttpError{505, "unsupported HTTP version"};
  } else {
    throw HttpError{400, "malformed HTTP version"};
  }
  if (r.target.empty() || std::any_of(r.target.begin(), r.target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      })) {
    throw HttpError{400, "malformed request target"};
  }

  std::string_view target(r.target);
  if (target.starts_with("http://") || target.starts_with("https://")) {
    // absolute-form, as sent to proxies: keep only the path and query
    target.remove_prefix(target.find("//") + 2);
    const auto slash = target.find('/');
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target != "*" && !target.starts_with('/')) throw HttpError{400, "malformed request target"};
  const auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  r.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
}

void parse_header_line(const std::string& line, Request& r) {
  if (line.front() == ' ' || line.front() == '\t') throw HttpError{400, "obsolete line folding"};
  const auto colon = line.find(':');
  if (colon == std::string::npos) throw HttpError{400, "header line without a colon"};
  const std::string_view name(line.data(), colon);
  const std::string_view value = trim(std::string_view(line).substr(colon + 1));
  if (!is_token(name)) throw HttpError{400, "malformed header name"};
  if (!is_field_value(value)) throw HttpError{400, "control character in a header value"};
  if (r.headers.size() >= max_headers) throw HttpError{431, "too many header fields"};
  r.headers.emplace_back(lower(name), std::string(value));
}

// Framing decides where this request ends and the next begins, so any
// ambiguity is refused outright (RFC 9112 section 6.3) rather than guessed.
void decide_framing(Request& r) {
  bool has_length = false;
  for (const auto& [name, value] : r.headers) {
    if (name != "content-length") continue;
    std::uint64_t length = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
        length > max_body) {
      throw HttpError{400, "malformed Content-Length"};
    }
    if (has_length && length != r.content_length)
      throw HttpError{400, "conflicting Content-Length"};
    has_length = true;
    r.content_length = length;
  }
  const std::string transfer_encoding = r.header("transfer-encoding");
  if (!transfer_encoding.empty()) {
    if (lower(transfer_encoding) != "chunked") {
      throw HttpError{400, "unsupported Transfer-Encoding"};
    }
    if (has_length) throw HttpError{400, "both Content-Length and Transfer-Encoding"};
    if (r.minor_version == 0) throw HttpError{400, "chunked body in HTTP/1.0"};
    r.chunked = true;
  }
  const std::string connection = r.header("connection");
  r.keep_alive =
      r.minor_version == 1 ? !has_token(connection, "close") : has_token(connection, "keep-alive");
  r.expect_continue = r.minor_version == 1 && lower(r.header("expect")) == "100-continue";
}

}  // namespace

bool SocketReader::read_line(std::string& line, std::size_t max, int too_long_status) {
  line.clear();
  bool started = false;
  for (;;) {
    if (begin_ == end_) {
      try {
        fill();
      } catch (const PeerGone&) {
        if (!started) return false;
        throw;
      }
    }
    started = true;
    const char* first = buffer_.data() + begin_;
    const char* last = buffer_.data() + end_;
    const char* newline = std::find(first, last, '\n');
    line.append(first, newline);
    begin_ = static_cast<std::size_t>(newline - buffer_.data());
    if (line.size() > max) throw HttpError{too_long_status, "line too long"};
    if (newline != last) {
      ++begin_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
  }
}

std::size_t SocketReader::read_some(char* out, std::size_t max) {
  if (begin_ == end_) fill();
  const std::size_t n = std::min(max, end_ - begin_);
  std::copy_n(buffer_.data() + begin_, n, out);
  begin_ += n;
  return n;
}

void SocketReader::fill() {
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (n > 0) {
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    throw PeerGone{};  // closed, reset, or idle past SO_RCVTIMEO
  }
}

std::string Request::header(std::string_view lower_name) const {
  std::string joined;
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    if (!joined.empty()) joined += ", ";
    joined += value;
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

bool read_request(SocketReader& reader, Request& request) {
  request = Request{};
  std::string line;
  // RFC 9112 section 2.2: ignore empty lines before a request line.
  for (int blank = 0;; ++blank) {
    if (!reader.read_line(line, max_request_line, 414)) return false;
    if (!line.empty()) break;
    if (blank == 8) throw HttpError{400, "empty request"};
  }
  parse_request_line(line, request);
  for (;;) {
    if (!reader.read_line(line, max_header_line, 431)) throw PeerGone{};
    if (line.empty()) break;
    parse_header_line(line, request);
  }
  decide_framing(request);
  return true;
}

BodyReader::BodyReader(SocketReader& reader, const Request& request, int fd)
    : reader_(reader),
      fd_(fd),
      chunked_(request.chunked),
      expect_continue_(request.expect_continue),
      remaining_(request.chunked ? 0 : request.content_length) {
  done_ = !chunked_ && remaining_ == 0;
}

std::size_t BodyReader::read(char* out, std::size_t max) {
  if (done_ || max == 0) return 0;
  send_continue();
  if (chunked_ && remaining_ == 0) {
    start_chunk();
    if (done_) return 0;
  }
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, remaining_));
  const std::size_t n = reader_.read_some(out, want);
  remaining_ -= n;
  total_ += n;
  if (remaining_ == 0) {
    if (chunked_) {
      std::string line;  // the CRLF that ends each chunk's data
      if (!reader_.read_line(line, max_chunk_line, 400)) throw PeerGone{};
      if (!line.empty()) throw HttpError{400, "chunk data longer than its size"};
    } else {
      done_ = true;
    }
  }
  return n;
}

std::uint64_t BodyReader::drain() {
  const std::uint64_t before = total_;
  std::array<char, 16 * 1024> sink;
  while (read(sink.data(), sink.size()) > 0) {
  }
  return total_ - before;
}

void BodyReader::start_chunk() {
  std::string line;
  if (!reader_.read_line(line, max_chunk_line, 400)) throw PeerGone{};
  // chunk-size [; extensions]: extensions are allowed and ignored
  const std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
  std::uint64_t size = 0;
  auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
  if (size_text.empty() || ec != std::errc() || ptr != size_text.data() + size_text.size() ||
      size > max_body) {
    throw HttpError{400, "malformed chunk size"};
  }
  if (size > 0) {
    remaining_ = size;
    return;
  }
  // Last chunk: read (and ignore) trailer fields up to the empty line.
  for (std::size_t fields = 0;; ++fields) {
    if (!reader_.read_line(line, max_header_line, 431)) throw PeerGone{};
    if (line.empty()) break;
    if (fields == max_headers) throw HttpError{431, "too many trailer fields"};
  }
  done_ = true;
}

void BodyReader::send_continue() {
  if (!expect_continue_) return;
  expect_continue_ = false;
  send_all(fd_, "HTTP/1.1 100 Continue\r\n\r\n");
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw PeerGone{};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Copy a well-formed UTF-8 sequence whole; replace anything else.
      const std::size_t length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      bool valid = length > 0 && c <= 0xf4 && i + length <= text.size();
      for (std::size_t k = 1; valid && k < length; ++k) {
        valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
      }
      if (valid) {
        out.append(text.substr(i, length));
        i += length;
        continue;
      }
      out += "\\ufffd";
    }
    ++i;
  }
  out += '"';
  return out;
}

}  // namespace meshd::demo
