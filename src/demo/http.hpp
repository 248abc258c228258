#pragma once

// A deliberately small HTTP/1.1 server side: request heads are parsed
// strictly (anything odd is a 400, never a crash), bodies are streamed in
// fixed-size pieces whatever their length, and every response carries
// Content-Length (except 204 and 304, which have no body).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshd::demo {

/// The request cannot be understood: answer `status` and close.
struct HttpError {
  int status;
  std::string reason;
};

/// The peer closed, reset or timed out: close without answering.
struct PeerGone {};

/// Buffered reads from a connected socket.
class SocketReader {
 public:
  explicit SocketReader(int fd) : fd_(fd) {}

  /// Reads a line without its CRLF (a bare LF is accepted). Returns false
  /// when the peer closed before sending any byte of it; throws PeerGone when
  /// it closed mid-line and HttpError when the line exceeds `max` bytes.
  bool read_line(std::string& line, std::size_t max, int too_long_status);
  /// Copies up to `max` buffered or freshly received bytes to `out`; throws
  /// PeerGone at end of stream.
  std::size_t read_some(char* out, std::size_t max);

 private:
  void fill();  // throws PeerGone

  int fd_;
  std::array<char, 64 * 1024> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

/// A parsed request head.
struct Request {
  std::string method;
  std::string target;  // as sent
  std::string path;    // target without query (and without scheme://host)
  std::string query;   // after '?', without it
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  bool keep_alive = true;
  bool chunked = false;
  std::uint64_t content_length = 0;
  bool expect_continue = false;

  /// Values of header `lower_name` joined by ", "; empty when absent.
  std::string header(std::string_view lower_name) const;
  /// Value of `key` in the query string, if present.
  bool query_param(std::string_view key, std::string& value) const;
};

/// Reads the next request head. Returns false when the peer closed the
/// connection between requests (the normal end of keep-alive).
bool read_request(SocketReader& reader, Request& request);

/// The body of one request, read in pieces; nothing is kept.
class BodyReader {
 public:
  BodyReader(SocketReader& reader, const Request& request, int fd);

  /// Up to `max` body bytes into `out`; 0 once the body is complete.
  std::size_t read(char* out, std::size_t max);
  /// Reads and discards the rest; returns how many bytes that was.
  std::uint64_t drain();
  /// Body bytes read so far.
  std::uint64_t bytes_read() const { return total_; }

 private:
  void start_chunk();    // reads a chunk-size line (and trailers after 0)
  void send_continue();  // "100 Continue" before the first body read

  SocketReader& reader_;
  int fd_;
  bool chunked_;
  bool expect_continue_;
  bool done_ = false;
  std::uint64_t remaining_ = 0;  // of the body (length) or of the chunk
  std::uint64_t total_ = 0;
};

/// Writes all of `data`; throws PeerGone when the peer is gone.
void send_all(int fd, std::string_view data);

/// "OK", "Not Found", ... for a status code.
std::string_view reason_phrase(int status);

/// `text` as a JSON string literal, quotes included; invalid UTF-8 becomes
/// U+FFFD so that the result always parses.
std::string json_string(std::string_view text);

}  // namespace meshd::demo
