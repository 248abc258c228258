#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::gateway {

/// One request through the gateway, as the access log writes it (one JSON
/// line; docs/traffic.md, "Access log"). Strings are owned: the record
/// goes to another thread.
struct AccessRecord {
  core::WallTime time{};  // when the request's head arrived
  std::string service;    // empty when the request named none
  std::string instance;   // the instance that answered; empty for the gateway's own answers
  std::string method;
  std::string path;              // the request target as the client sent it
  int status = 0;                // sent to the client; 0 when none was (the exchange broke off)
  std::uint64_t bytes_in = 0;    // read from the client: header and body
  std::uint64_t bytes_out = 0;   // written to the client: header and body
  std::int64_t duration_us = 0;  // head arrived -> response written
  std::int64_t upstream_us = 0;  // the last attempt: request sent -> response head
  int retries = 0;
  std::string trace_id;
  std::string protocol = "HTTP/1.1";  // "HTTP/1.1" | "HTTP/2"
  std::string client;                 // the client's address
  std::string error;  // why the gateway answered itself or broke off; empty otherwise
};

/// The JSON line of `record`, newline included: time (RFC 3339, UTC, ms),
/// then the fields in AccessRecord's order, durations in milliseconds.
std::string access_log_line(const AccessRecord& record);

/// mesh.access_log: records queued by the gateway's loops and written by
/// one writer thread, so a slow disk never stalls a request. The queue is
/// bounded (queue_limit records): past it, records are dropped and counted
/// (meshd_gateway_access_log_dropped_total). The file is rotated when the
/// next line would take it past max_size (path -> path.1 -> ... ->
/// path.keep, the oldest deleted). A file that cannot be opened or written
/// while running (disk full, directory removed) is a warning, logged once
/// until writing works again, with the records dropped and counted; meshd
/// keeps serving. reopen() (SIGUSR1) closes the file and opens the path
/// again, for an external logrotate that has renamed it.
class AccessLog {
 public:
  /// Creates the path's directory when missing and opens the file for
  /// appending; throws std::runtime_error with one clear line when it
  /// cannot (meshd refuses to start rather than run without its log).
  explicit AccessLog(const config::AccessLogSpec& spec, std::size_t queue_limit = 64 * 1024);
  /// Writes what is queued, then stops the writer.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  /// Queues one record; never blocks on I/O (a mutex guards the queue for
  /// the push only). Dropped and counted when the queue is full.
  void write(AccessRecord record);
  /// Waits until every record queued so far is written (or dropped), and
  /// a reopen asked for so far is done.
  void flush();
  /// Asks the writer to open the path again (an external logrotate renamed
  /// the file; meshd's SIGUSR1). Returns at once. The writer switches files
  /// between two batches, so no line is torn or lost: the records it took
  /// before the switch end the old file, the rest go to the new one. When
  /// the path cannot be opened, a warning is logged and the writer goes on
  /// with the file it has (nothing is dropped); the next reopen() or
  /// rotation tries again.
  void reopen();

  const std::string& path() const { return spec_.path; }
  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  /// Reopens that failed (the writer kept its file).
  std::uint64_t reopen_failures() const { return reopen_failures_.load(); }
  /// Records dropped by every access log of the process, for /metrics.
  static std::uint64_t dropped_total();

 private:
  void run();
  void write_batch(const std::deque<AccessRecord>& batch);
  bool write_out(const std::string& bytes);
  bool open_path();
  void switch_file();
  void rotate();
  void lose(std::size_t records);

  const config::AccessLogSpec spec_;
  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<AccessRecord> queue_;
  bool stopping_ = false;
  bool busy_ = false;           // the writer holds a batch
  bool reopen_wanted_ = false;  // reopen() was called; the writer has not switched yet
  std::atomic<std::uint64_t> written_{0}, dropped_{0}, reopen_failures_{0};
  // Writer thread only:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool warned_ = false;  // a failure was logged; the next success says so
  bool rotate_warned_ = false;
  std::string last_error_;
  std::chrono::steady_clock::time_point next_open_{};
  std::thread writer_;
};

}  // namespace meshd::gateway
