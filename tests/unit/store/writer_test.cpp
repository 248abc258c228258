// The write path: flush ordering, concurrent producers, the bounded queue
// and retention.

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <thread>

#include "meshd/store/database.hpp"
#include "temp_dir.hpp"

namespace meshd::store {
namespace {

EventRecord make_event(std::int64_t seq) {
  return EventRecord{seq, seq, "test", "svc", "svc-0", "event", "{}"};
}

class WriterTest : public ::testing::Test {
 protected:
  test_support::TempDir dir_;
  std::string path_ = dir_.file("meshd.db");
};

TEST_F(WriterTest, FlushWithNothingQueuedReturns) {
  auto db = Database::open(path_);
  db->flush();
  db->flush();
  EXPECT_EQ(db->last_event_seq(), 0);
}

TEST_F(WriterTest, FlushMakesEveryEarlierWriteVisible) {
  auto db = Database::open(path_);
  // Several rounds so that flushes land both mid-drain and on an idle writer.
  std::int64_t seq = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) db->append_event(make_event(++seq));
    db->put("override", "round", std::to_string(round));
    db->flush();
    EXPECT_EQ(db->last_event_seq(), seq);
    ASSERT_EQ(db->load("override").size(), 1u);
    EXPECT_EQ(db->load("override")[0].second, std::to_string(round));
  }
  EXPECT_EQ(db->events_since(0, 100'000).size(), 10'000u);
}

TEST_F(WriterTest, WritesAreAppliedInTheOrderQueued) {
  auto db = Database::open(path_);
  for (int i = 0; i < 100; ++i) {
    db->put("override", "k", std::to_string(i));
    if (i % 7 == 0) db->erase("override", "k");
  }
  db->flush();
  ASSERT_EQ(db->load("override").size(), 1u);
  EXPECT_EQ(db->load("override")[0].second, "99");
}

TEST_F(WriterTest, ConcurrentAppendsFromTwoThreadsKeepEveryRow) {
  auto db = Database::open(path_);
  constexpr std::int64_t per_thread = 5000;
  // Odd and even seqs, so the threads never collide on a key.
  auto producer = [&db](std::int64_t first) {
    for (std::int64_t i = 0; i < per_thread; ++i) db->append_event(make_event(first + 2 * i));
  };
  std::thread odd(producer, 1);
  std::thread even(producer, 2);
  odd.join();
  even.join();
  db->flush();

  const auto events = db->events_since(0, 100'000);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(2 * per_thread));
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].seq, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(db->dropped_writes(), 0u);
}

TEST_F(WriterTest, FullQueueDropsAndCountsInsteadOfBlocking) {
  constexpr std::size_t capacity = 16;
  auto db = Database::open(path_, DatabaseOptions{.queue_capacity = capacity});
  constexpr std::int64_t total = 200;
  {
    // Another connection holding the write lock stalls the writer in its
    // BEGIN, exactly as a slow disk would, so the queue must fill up.
    SQLite::Database blocker(path_, SQLite::OPEN_READWRITE);
    blocker.exec("BEGIN IMMEDIATE");
    for (std::int64_t seq = 1; seq <= total; ++seq) db->append_event(make_event(seq));
    // The writer holds at most one drained batch, the queue at most capacity.
    EXPECT_GE(db->dropped_writes(), static_cast<std::uint64_t>(total) - 2 * capacity);
    blocker.exec("ROLLBACK");
  }
  db->flush();
  const auto kept = db->events_since(0, 1000).size();
  EXPECT_GE(kept, 1u);
  EXPECT_LE(kept, 2 * capacity);
  EXPECT_EQ(kept + db->dropped_writes(), static_cast<std::uint64_t>(total));

  // Once the writer catches up, writes are accepted again.
  db->append_event(make_event(total + 1));
  db->flush();
  EXPECT_EQ(db->last_event_seq(), total + 1);
}

TEST_F(WriterTest, RefusedWriteIsCountedWithoutLosingItsBatch) {
  auto db = Database::open(path_);
  db->append_event(make_event(1));
  db->flush();
  db->append_event(make_event(1));  // duplicate seq: SQLite refuses it
  db->append_event(make_event(2));
  db->put("override", "k", "{}");
  db->flush();
  EXPECT_EQ(db->dropped_writes(), 1u);
  EXPECT_EQ(db->events_since(0, 10).size(), 2u);
  EXPECT_EQ(db->load("override").size(), 1u);
}

TEST_F(WriterTest, RetentionKeepsOnlyTheNewestEvents) {
  auto db = Database::open(path_, DatabaseOptions{.retained_events = 5});
  for (std::int64_t seq = 1; seq <= 40; ++seq) db->append_event(make_event(seq));
  db->flush();

  const auto events = db->events_since(0, 100);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events.front().seq, 36);
  EXPECT_EQ(events.back().seq, 40);
}

TEST_F(WriterTest, RetentionLeavesSmallHistoriesAlone) {
  auto db = Database::open(path_, DatabaseOptions{.retained_events = 100});
  for (std::int64_t seq = 1; seq <= 60; ++seq) db->append_event(make_event(seq));
  db->flush();
  EXPECT_EQ(db->events_since(0, 1000).size(), 60u);
}

}  // namespace
}  // namespace meshd::store
