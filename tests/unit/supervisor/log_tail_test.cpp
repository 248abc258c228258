#include "meshd/supervisor/log_tail.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "supervisor/rotating_file.hpp"

namespace meshd::supervisor {
namespace {

TEST(LogTail, SplitsChunksIntoLinesAcrossChunkBoundaries) {
  LogTail tail(10);
  tail.feed("a-0", LogStream::stdout_stream, "hel", 3, 1);
  tail.feed("a-0", LogStream::stdout_stream, "lo\nwor", 6, 2);
  tail.feed("a-0", LogStream::stdout_stream, "ld\r\n", 4, 3);
  auto lines = tail.tail(10);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "hello");
  EXPECT_EQ(lines[1].text, "world");
}

TEST(LogTail, KeepsPartialLinesPerInstanceAndStream) {
  LogTail tail(10);
  tail.feed("a-0", LogStream::stdout_stream, "out-", 4, 1);
  tail.feed("a-0", LogStream::stderr_stream, "err\n", 4, 1);
  tail.feed("a-1", LogStream::stdout_stream, "other\n", 6, 1);
  tail.feed("a-0", LogStream::stdout_stream, "done\n", 5, 1);
  auto lines = tail.tail(10);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "err");
  EXPECT_EQ(lines[1].text, "other");
  EXPECT_EQ(lines[2].text, "out-done");
  LogStream err = LogStream::stderr_stream;
  ASSERT_EQ(tail.tail(10, &err).size(), 1u);
}

TEST(LogTail, IsBoundedAndKeepsTheNewestLinesOfAHugeChunk) {
  LogTail tail(5);
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "line " + std::to_string(i) + "\n";
  tail.feed("a-0", LogStream::stdout_stream, chunk.data(), chunk.size(), 1);
  auto lines = tail.tail(100);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines.front().text, "line 995");
  EXPECT_EQ(lines.back().text, "line 999");
}

TEST(LogTail, TruncatesVeryLongLines) {
  LogTail tail(5, 16);
  std::string line(1000, 'x');
  line += "\n";
  tail.feed("a-0", LogStream::stdout_stream, line.data(), line.size(), 1);
  auto lines = tail.tail(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].text.size(), 30u);
}

TEST(RotatingFile, RotatesPastMaxSizeAndKeepsOnlyKeepFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("meshd-rot-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto path = (dir / "svc-0.stdout.log").string();
  {
    RotatingFile file(path, 100, 2);
    std::string chunk(60, 'a');
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(file.write(chunk.data(), chunk.size()));
    EXPECT_EQ(file.bytes_written(), 360u);
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  EXPECT_LE(std::filesystem::file_size(path), 100u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace meshd::supervisor

namespace meshd::supervisor {
namespace {

TEST(LogTail, AFloodIsRateLimitedWithACountedMarker) {
  LogTail tail(100, 4096, 10);
  std::string chunk;
  for (int i = 0; i < 50; ++i) chunk += "line " + std::to_string(i) + "\n";
  tail.feed("a-0", LogStream::stdout_stream, chunk.data(), chunk.size(), 5000);  // second 5
  tail.feed("a-0", LogStream::stdout_stream, chunk.data(), chunk.size(), 5500);  // still second 5
  EXPECT_EQ(tail.tail(100).size(), 10u);
  EXPECT_EQ(tail.lines_skipped(), 90u);
  tail.feed("a-0", LogStream::stdout_stream, "next\n", 5, 6000);  // a new second announces the skip
  auto lines = tail.tail(100);
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_NE(lines[10].text.find("90 lines not shown"), std::string::npos);
  EXPECT_EQ(lines[11].text, "next");
}

}  // namespace
}  // namespace meshd::supervisor
