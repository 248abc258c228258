#include "meshd/gateway/access_log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace meshd::gateway {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "meshd-access-log-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

config::AccessLogSpec spec_at(const fs::path& path, std::uint64_t max_size = 1 << 20,
                              int keep = 3) {
  config::AccessLogSpec s;
  s.path = path.string();
  s.max_size = max_size;
  s.keep = keep;
  return s;
}

AccessRecord record(int n) {
  AccessRecord r;
  r.time = core::WallTime(std::chrono::milliseconds(1796347110123));  // 2026-12-04T01:18:30.123Z
  r.service = "api";
  r.instance = "api-0";
  r.method = "GET";
  r.path = "/items/" + std::to_string(n);
  r.status = 200;
  r.bytes_in = 78;
  r.bytes_out = 321;
  r.duration_us = 1500;
  r.upstream_us = 1250;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.client = "127.0.0.1";
  return r;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(AccessLogLine, IsOneJsonObjectWithTheFieldsInOrder) {
  auto line = access_log_line(record(7));
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line, R"({"time":"2026-12-04T01:18:30.123Z","service":"api","instance":"api-0",)"
                  R"("method":"GET","path":"/items/7","status":200,"bytes_in":78,"bytes_out":321,)"
                  R"("duration_ms":1.5,"upstream_ms":1.25,"retries":0,)"
                  R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","protocol":"HTTP/1.1",)"
                  R"("client":"127.0.0.1"})"
                  "\n");
}

TEST(AccessLogLine, SaysTheErrorOfALocalAnswerAndSurvivesBadBytes) {
  AccessRecord r = record(1);
  r.instance.clear();
  r.status = 429;
  r.error = "over the rate limit";
  r.path = "/x\xff\"\n";
  auto j = nlohmann::json::parse(access_log_line(r));
  EXPECT_EQ(j["status"], 429);
  EXPECT_EQ(j["error"], "over the rate limit");
  EXPECT_EQ(j["instance"], "");
  EXPECT_EQ(j["path"], "/x\xEF\xBF\xBD\"\n");  // U+FFFD for the bad byte
}

TEST(AccessLog, WritesOneLinePerRecordCreatingTheDirectory) {
  TempDir dir;
  auto path = dir.path / "logs" / "deeper" / "access.log";
  {
    AccessLog log(spec_at(path));
    for (int i = 0; i < 100; ++i) log.write(record(i));
    log.flush();
    EXPECT_EQ(log.written(), 100u);
    EXPECT_EQ(log.dropped(), 0u);
    for (int i = 100; i < 150; ++i) log.write(record(i));
  }  // the destructor writes what is queued
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 150u);
  EXPECT_EQ(nlohmann::json::parse(lines[149])["path"], "/items/149");
  // A second log on the same file appends.
  {
    AccessLog log(spec_at(path));
    log.write(record(150));
  }
  EXPECT_EQ(lines_of(path).size(), 151u);
}

TEST(AccessLog, RotatesPastMaxSizeKeepingKeepFiles) {
  TempDir dir;
  auto path = dir.path / "access.log";
  const std::uint64_t max_size = 4096;
  std::size_t line_size = access_log_line(record(100)).size();
  {
    AccessLog log(spec_at(path, max_size, 2));
    for (int i = 100; i < 400; ++i) log.write(record(i));
  }
  ASSERT_TRUE(fs::exists(path));
  ASSERT_TRUE(fs::exists(path.string() + ".1"));
  ASSERT_TRUE(fs::exists(path.string() + ".2"));
  EXPECT_FALSE(fs::exists(path.string() + ".3"));
  for (const auto& p : {path.string(), path.string() + ".1", path.string() + ".2"})
    EXPECT_LE(fs::file_size(p), max_size) << p;
  // Full files before the current one; the newest records, in order.
  EXPECT_GT(fs::file_size(path.string() + ".1"), max_size - line_size);
  auto current = lines_of(path), previous = lines_of(path.string() + ".1");
  ASSERT_FALSE(current.empty());
  EXPECT_EQ(nlohmann::json::parse(current.back())["path"], "/items/399");
  EXPECT_EQ(nlohmann::json::parse(previous.back())["path"],
            "/items/" + std::to_string(399 - current.size()));
}

TEST(AccessLog, KeepZeroStartsTheFileAfresh) {
  TempDir dir;
  auto path = dir.path / "access.log";
  {
    AccessLog log(spec_at(path, 4096, 0));
    for (int i = 100; i < 400; ++i) log.write(record(i));
  }
  EXPECT_LE(fs::file_size(path), 4096u);
  EXPECT_FALSE(fs::exists(path.string() + ".1"));
  EXPECT_EQ(nlohmann::json::parse(lines_of(path).back())["path"], "/items/399");
}

TEST(AccessLog, DropsAndCountsPastTheQueueLimitInsteadOfBlocking) {
  // A FIFO nobody reads from stalls the writer once the pipe is full, as a
  // hung disk would; write() must still return at once.
  TempDir dir;
  auto path = dir.path / "fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto before = AccessLog::dropped_total();
  std::uint64_t newlines = 0, written = 0;
  char buf[65536];
  auto drain = [&] {
    ssize_t got = ::read(reader, buf, sizeof buf);
    for (ssize_t k = 0; k < got; ++k) newlines += buf[k] == '\n';
    return got;
  };
  {
    AccessLog log(spec_at(path, 1ull << 40), 10);
    const int n = 5000;
    for (int i = 0; i < n; ++i) log.write(record(i));
    // The pipe holds at most 64 KiB (a few hundred lines), the queue 10,
    // the writer's batch in hand at most 10 more.
    EXPECT_GT(log.dropped(), 4000u);
    EXPECT_EQ(AccessLog::dropped_total() - before, log.dropped());
    for (int round = 0; round < 100000 && log.written() + log.dropped() < n; ++round)
      if (drain() <= 0) ::usleep(100);
    EXPECT_EQ(log.written() + log.dropped(), static_cast<std::uint64_t>(n));
    written = log.written();
  }
  // The log is closed: read to the end of the pipe.
  for (int round = 0; round < 100000 && drain() != 0; ++round) ::usleep(100);
  EXPECT_EQ(newlines, written);  // every record counted as written came through whole
  ::close(reader);
}

TEST(AccessLog, AWriteFailureIsDroppedAndCountedNotFatal) {
  // /dev/full: opens fine, every write fails with ENOSPC (a full disk).
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  config::AccessLogSpec s = spec_at("/dev/full");
  AccessLog log(s);
  for (int i = 0; i < 10; ++i) log.write(record(i));
  log.flush();
  EXPECT_EQ(log.written(), 0u);
  EXPECT_EQ(log.dropped(), 10u);
  log.write(record(10));  // still accepted, still dropped
  log.flush();
  EXPECT_EQ(log.dropped(), 11u);
}

// Every line of `path` is a whole JSON record; their paths, in order.
std::vector<std::string> record_paths(const fs::path& path) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(path)) out.push_back(nlohmann::json::parse(line)["path"]);
  return out;
}

TEST(AccessLog, ReopenStartsANewFileAtThePathAfterARename) {
  // What an external logrotate does: rename the file, then SIGUSR1.
  TempDir dir;
  auto path = dir.path / "access.log";
  auto rotated = dir.path / "access.log.2026-12-04";
  AccessLog log(spec_at(path));
  for (int i = 0; i < 10; ++i) log.write(record(i));
  log.flush();
  fs::rename(path, rotated);
  log.write(record(10));  // before the reopen: still the renamed file
  log.flush();
  EXPECT_FALSE(fs::exists(path));
  log.reopen();
  log.flush();  // waits for the reopen too
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(fs::file_size(path), 0u);
  for (int i = 11; i < 14; ++i) log.write(record(i));
  log.flush();
  EXPECT_EQ(record_paths(rotated).size(), 11u);
  EXPECT_EQ(record_paths(rotated).back(), "/items/10");
  EXPECT_EQ(record_paths(path), (std::vector<std::string>{"/items/11", "/items/12", "/items/13"}));
  EXPECT_EQ(log.written(), 14u);
  EXPECT_EQ(log.dropped(), 0u);
  EXPECT_EQ(log.reopen_failures(), 0u);
}

TEST(AccessLog, ReopenKeepsTheOldFileWhenThePathCannotBeOpened) {
  TempDir dir;
  auto path = dir.path / "logs" / "access.log";
  AccessLog log(spec_at(path));
  log.write(record(0));
  log.flush();
  // The directory moves away (the open file with it) and a plain file takes
  // its name: the path cannot be opened, nor its directory created.
  fs::rename(dir.path / "logs", dir.path / "logs.old");
  std::ofstream(dir.path / "logs") << "in the way";
  log.reopen();
  log.write(record(1));
  log.flush();
  EXPECT_EQ(log.reopen_failures(), 1u);
  EXPECT_EQ(log.dropped(), 0u);
  EXPECT_EQ(record_paths(dir.path / "logs.old" / "access.log"),
            (std::vector<std::string>{"/items/0", "/items/1"}));
  // Once the path can be opened again, the next reopen gets there.
  fs::remove(dir.path / "logs");
  log.reopen();
  log.write(record(2));
  log.flush();
  EXPECT_EQ(log.reopen_failures(), 1u);
  EXPECT_EQ(record_paths(path), (std::vector<std::string>{"/items/2"}));
  EXPECT_EQ(log.written(), 3u);
}

TEST(AccessLog, ReopensUnderConcurrentWritesLoseAndTearNoLine) {
  TempDir dir;
  auto path = dir.path / "access.log";
  constexpr int kThreads = 4, kPerThread = 2000, kRotations = 20;
  std::vector<fs::path> files;
  {
    AccessLog log(spec_at(path, 1ull << 40));
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
      writers.emplace_back([&log, t] {
        for (int i = 0; i < kPerThread; ++i) log.write(record(t * kPerThread + i));
      });
    for (int r = 0; r < kRotations; ++r) {
      files.push_back(dir.path / ("access.log." + std::to_string(r)));
      std::error_code ec;  // the path may not exist yet after the last reopen
      fs::rename(path, files.back(), ec);
      log.reopen();
      std::this_thread::yield();
    }
    for (auto& w : writers) w.join();
    log.flush();
    EXPECT_EQ(log.written(), std::uint64_t{kThreads * kPerThread});
    EXPECT_EQ(log.dropped(), 0u);
  }
  files.push_back(path);
  std::vector<int> seen(kThreads * kPerThread, 0);
  for (const auto& f : files) {
    if (!fs::exists(f)) continue;
    for (const auto& p : record_paths(f))  // parse() throws on a torn line
      ++seen.at(static_cast<std::size_t>(std::stoi(p.substr(std::string("/items/").size()))));
  }
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "record " << i;
}

TEST(AccessLog, RefusesAPathItCannotCreateWithOneClearLine) {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  try {
    AccessLog log(spec_at(dir.path / "file" / "access.log"));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("mesh.access_log.path"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot create the directory"), std::string::npos) << what;
  }
  try {
    AccessLog log(spec_at(dir.path));  // a directory, not a file
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open it"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace meshd::gateway
